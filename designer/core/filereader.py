"""Design files' structure, read: parsed JSON checked key by key into a Design and its composite
block definitions, each problem a :class:`DesignFileError` naming the JSON path and the fix.
Older versions are migrated first (:data:`MIGRATIONS`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from designer.core.composite import IMPLICIT, CompositeDef, is_expr, nesting_problem
from designer.core.errors import DesignFileError
from designer.core.expr import ExprError, names_in
from designer.core.graph import IDENTIFIER, Design
from designer.core.params import KINDS, MAX_ITEMS, Param
from designer.core.repeat import value_problem

FORMAT = "torch-designer"
VERSION = 2
MAX_NODES = 100_000
# Version 2 took torch's defaults: Conv padding 0 (was 1), ConvTranspose stride 1 (was 2).
V1_DEFAULTS = {
    **{f"Conv{n}d": {"padding": 1} for n in (1, 2, 3)},
    **{f"ConvTranspose{n}d": {"stride": 2} for n in (1, 2, 3)},
}


def _explicit_v1_defaults(data: dict) -> dict:
    """Version 1 to 2: write the old defaults into every node that relied on them, so that the
    design keeps its meaning (the nodes of the design's own blocks too). What is malformed is
    left as it is, for the reader to report."""
    data = _fill_nodes(dict(data))
    blocks = data.get("blocks")
    if isinstance(blocks, dict):
        data["blocks"] = {
            name: _fill_nodes(dict(block)) if isinstance(block, dict) else block
            for name, block in blocks.items()
        }
    return data


def _fill_nodes(graph: dict) -> dict:
    """``graph`` (a copy) with the old defaults written into its nodes' params (copies)."""
    nodes = graph.get("nodes")
    if not isinstance(nodes, list):
        return graph
    graph["nodes"] = filled = list(nodes)
    for i, node in enumerate(nodes):
        kind = node.get("type") if isinstance(node, dict) else None
        old = V1_DEFAULTS.get(kind) if isinstance(kind, str) else None
        params = node.get("params", {}) if old else None
        if isinstance(params, dict) and not old.keys() <= params.keys():
            filled[i] = {**node, "params": {**old, **params}}
    return graph


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _explicit_v1_defaults}  # N -> N + 1


class _Reader:
    """Walks parsed JSON, checking types, with the JSON path for messages."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, problem: str) -> DesignFileError:
        return DesignFileError(self.source, path, problem)

    def obj(self, value: Any, path: str, required: tuple = (), optional: tuple = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {_kind(value)}")
        for key in required:
            if key not in value:
                raise self.fail(path, f"missing key {key!r}")
        unknown = [k for k in value if k not in required and k not in optional]
        if unknown:
            known = ", ".join((*required, *optional))
            raise self.fail(path, f"unknown key {unknown[0]!r}; known keys: {known}")
        return value

    def typed(self, value: Any, kind: type | tuple, path: str, what: str) -> Any:
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(path, f"expected {what}, got {_kind(value)}")
        return value

    def ident(self, value: Any, path: str) -> str:
        self.typed(value, str, path, "an id string")
        if not IDENTIFIER.match(value):
            raise self.fail(
                path, f"{value!r} is not a valid id: use letters, digits and '_', at most 64"
            )
        return value


def _kind(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"the number {value!r}"[:60]
    return names.get(type(value), type(value).__name__)


def design_from_dict(data: Any, source: str = "<data>") -> Design:
    """Build a design from parsed JSON, checking its structure."""
    r = _Reader(source)
    r.obj(data, "$", ("format", "version", "nodes", "edges"), ("name", "blocks", "meta"))
    if data["format"] != FORMAT:
        raise r.fail(
            "$.format", f"expected {FORMAT!r}, got {data['format']!r}: not a torch-designer file"
        )
    version = data["version"]
    r.typed(version, int, "$.version", "an integer")
    if version > VERSION:
        raise r.fail(
            "$.version", f"version {version} is newer than this designer ({VERSION}); upgrade it"
        )
    while version < VERSION:
        if version not in MIGRATIONS:
            raise r.fail("$.version", f"no migration from version {version}")
        data = MIGRATIONS[version](data)
        version += 1
    design = Design(r.typed(data.get("name", "untitled"), str, "$.name", "a string"))
    design.meta = r.typed(data.get("meta", {}), dict, "$.meta", "an object")
    # Blocks belong to the design: every body resolves types through the design's one table,
    # so a block may use any other, whatever the order they are written in.
    for name, block in r.typed(data.get("blocks", {}), dict, "$.blocks", "an object").items():
        design.blocks[name] = composite_from_dict(block, f"$.blocks.{name}", r, name, design.blocks)
    problem = nesting_problem(design.blocks)
    if problem:
        raise r.fail(f"$.blocks.{problem[0]}", problem[1])
    _read_graph(design, data, "$", r, composite=False)
    return design


def composite_from_dict(
    data: Any, path: str, r: _Reader, name: str, known: dict | None = None
) -> CompositeDef:
    """A composite block definition (from a design's ``blocks`` or the built-in library)."""
    r.ident(name, path)
    r.obj(data, path, ("nodes", "edges"), ("category", "doc", "params"))
    params = tuple(
        _read_param(p, f"{path}.params[{i}]", r)
        for i, p in enumerate(r.typed(data.get("params", []), list, f"{path}.params", "a list"))
    )
    body = Design(name)
    body.blocks = known if known is not None else {}
    _read_graph(body, data, path, r, composite=True)
    allowed = {p.name for p in params} | set(IMPLICIT)
    for node_id in body.node_ids():
        node = body.node(node_id)
        exprs = [(k, v["expr"]) for k, v in node["params"].items() if is_expr(v)]
        for attr in ("when", "repeat"):
            if isinstance(node.get(attr), str):
                exprs.append((attr, node[attr]))
        for key, text in exprs:
            attr = key if key in ("when", "repeat") else "params." + key
            where = f"{path}.nodes[{node_id}].{attr}"
            try:
                unknown = sorted(names_in(text) - allowed)
            except ExprError as exc:
                raise r.fail(where, str(exc)) from None
            if unknown:
                raise r.fail(
                    where, f"unknown name {unknown[0]!r}; declared: {', '.join(sorted(allowed))}"
                )
        if "when" in node and not body.inputs_of(node_id):
            raise r.fail(
                f"{path}.nodes[{node_id}].when",
                "a conditional node needs an input wire (its first input flows on while off)",
            )
    if not body.nodes_of_type("Input") or not body.nodes_of_type("Output"):
        raise r.fail(path, "a composite block needs at least one Input and one Output node")
    return CompositeDef(
        name,
        body,
        params,
        category=r.typed(data.get("category", "Blocks"), str, f"{path}.category", "a string"),
        doc=r.typed(data.get("doc", ""), str, f"{path}.doc", "a string"),
    )


def _read_param(data: Any, path: str, r: _Reader) -> Param:
    r.obj(
        data,
        path,
        ("name", "type", "default"),
        ("doc", "min", "max", "choices", "optional", "length", "most"),
    )
    kind = data["type"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise r.fail(
            f"{path}.type", f"unknown parameter type {kind!r}; use one of {', '.join(KINDS)}"
        )
    param = Param(
        r.ident(data["name"], f"{path}.name"),
        kind,
        None,
        r.typed(data.get("doc", ""), str, f"{path}.doc", "a string"),
        min=_bound(data, "min", path, r),
        max=_bound(data, "max", path, r),
        choices=tuple(r.typed(data.get("choices", []), list, f"{path}.choices", "a list")),
        optional=r.typed(data.get("optional", False), bool, f"{path}.optional", "true or false"),
        length=_bound(data, "length", path, r),
        most=_bound(data, "most", path, r),
    )
    if not all(isinstance(c, str) for c in param.choices):
        raise r.fail(f"{path}.choices", "expected a list of strings")
    if param.length is not None and param.length not in (1, 2, 3):
        raise r.fail(f"{path}.length", "expected 1, 2 or 3")
    most = param.most
    if most is not None and (type(most) is not int or not 1 <= most <= MAX_ITEMS or param.length):
        raise r.fail(f"{path}.most", f"expected a whole number 1 to {MAX_ITEMS}, without length")
    try:
        default = param.coerce(data["default"])
    except ValueError as exc:
        raise r.fail(f"{path}.default", str(exc)) from None
    return Param(
        param.name,
        kind,
        default,
        param.doc,
        param.min,
        param.max,
        param.choices,
        param.optional,
        param.length,
        param.most,
    )


def _bound(data: dict, key: str, path: str, r: _Reader) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    r.typed(value, (int, float), f"{path}.{key}", "a number")
    if not abs(value) <= 1e15:
        raise r.fail(f"{path}.{key}", f"{value!r} is out of range")
    return value


def _read_graph(design: Design, data: dict, path: str, r: _Reader, composite: bool) -> None:
    nodes = r.typed(data["nodes"], list, f"{path}.nodes", "a list")
    if len(nodes) > MAX_NODES:
        raise r.fail(f"{path}.nodes", f"{len(nodes):,} nodes is more than {MAX_NODES:,}")
    first_seen: dict[str, int] = {}
    for i, node in enumerate(nodes):
        where = f"{path}.nodes[{i}]"
        r.obj(
            node,
            where,
            ("id", "type"),
            ("params", "label", "pos", "device", "when", "repeat")
            if composite
            else ("params", "label", "pos", "device", "repeat"),
        )
        node_id = r.ident(node["id"], f"{where}.id")
        if node_id in first_seen:
            raise r.fail(
                f"{where}.id",
                f"duplicate node id {node_id!r} (first at {path}.nodes[{first_seen[node_id]}]); "
                "give each node its own id",
            )
        first_seen[node_id] = i
        params = r.typed(node.get("params", {}), dict, f"{where}.params", "an object")
        for key, value in params.items():
            if not (
                _plain(value) or (composite and is_expr(value) and isinstance(value["expr"], str))
            ):
                raise r.fail(
                    f"{where}.params.{key}",
                    "expected a number, string, boolean, null or a list of them"
                    + (' or {"expr": "..."}' if composite else ""),
                )
        pos = node.get("pos", [0, 0])
        if (
            not isinstance(pos, list)
            or len(pos) != 2
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e9
                for v in pos
            )
        ):
            raise r.fail(f"{where}.pos", "expected [x, y] with two numbers")
        design.add_node(
            r.typed(node["type"], str, f"{where}.type", "a block type name"),
            params,
            node_id=node_id,
            label=r.typed(node.get("label", node_id), str, f"{where}.label", "a string"),
            pos=(pos[0], pos[1]),
            when=r.typed(node["when"], str, f"{where}.when", "an expression")
            if "when" in node
            else None,
            device=_device(node, where, r),
            repeat=_repeat(node, where, r, composite),
        )
    wired: dict[tuple[str, str], int] = {}  # (node, input port) -> edge index: linear loading
    for i, edge in enumerate(r.typed(data["edges"], list, f"{path}.edges", "a list")):
        where = f"{path}.edges[{i}]"
        r.obj(edge, where, ("from", "to"))
        src, src_port = _endpoint(edge["from"], f"{where}.from", r, design)
        dst, dst_port = _endpoint(edge["to"], f"{where}.to", r, design)
        if (dst, dst_port) in wired:
            raise r.fail(
                where,
                f"input {dst}.{dst_port} is wired twice (first at {path}.edges"
                f"[{wired[dst, dst_port]}]); an input takes one wire",
            )
        wired[dst, dst_port] = i
        design.graph.add_edge(src, dst, key=dst_port, src_port=src_port, dst_port=dst_port)


_SCALAR = (int, float, str, bool, type(None))


def _plain(value: Any) -> bool:
    """A parameter value as files hold it: a scalar, a flat list of scalars, or keyword arguments
    (at most 32 names, each a scalar or a list of up to 64 scalars or such lists)."""
    if isinstance(value, list):
        return len(value) <= 16 and all(isinstance(v, _SCALAR) for v in value)
    if isinstance(value, dict) and not is_expr(value):  # an expression only inside blocks
        return len(value) <= 32 and all(
            isinstance(k, str) and _literal(v, 2) for k, v in value.items()
        )
    return isinstance(value, _SCALAR)


def _literal(value: Any, depth: int) -> bool:
    if isinstance(value, list):
        return depth > 0 and len(value) <= 64 and all(_literal(v, depth - 1) for v in value)
    return isinstance(value, _SCALAR)


def _endpoint(value: Any, path: str, r: _Reader, design: Design) -> tuple[str, str]:
    r.typed(value, str, path, "'node.port'")
    node, _, port = value.partition(".")
    if not port:
        raise r.fail(path, f"{value!r} must be 'node.port'")
    r.ident(node, path), r.ident(port, path)
    if node not in design:
        raise r.fail(path, f"no node {node!r}; wires must join existing nodes")
    return node, port


def _repeat(node: dict, where: str, r: _Reader, composite: bool) -> int | str | None:
    """A node's repeat count: a whole number, or inside a block an expression's text."""
    if "repeat" not in node:
        return None
    problem = value_problem(node["repeat"], expressions=composite)
    if problem is not None:
        raise r.fail(f"{where}.repeat", problem)
    return node["repeat"]


def _device(node: dict, where: str, r: _Reader) -> str | None:
    """A node's placement tag: a short device name or stage index (checked by validation)."""
    if "device" not in node:
        return None
    tag = r.typed(node["device"], str, f"{where}.device", "a device such as cuda:0, or a stage")
    if not tag or len(tag) > 32 or not tag.isprintable():
        raise r.fail(f"{where}.device", "expected a device such as cuda:0, cpu or a stage index")
    return tag
