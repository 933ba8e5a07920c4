"""Design files: versioned JSON with a stable key order; loading never executes anything.

Layout (version 1)::

    {"format": "torch-designer", "version": 1, "name": "unet",
     "blocks": {"MyBlock": {<composite definition>}},
     "nodes": [{"id": "inc", "type": "DoubleConv", "label": "inc",
                "params": {"out_channels": 64}, "pos": [0, 0]}, ...],
     "edges": [{"from": "x.out", "to": "inc.x"}, ...]}

A composite definition holds ``category``, ``doc``, ``params`` (declared: name, type, default, and
optionally min, max, choices, optional, doc) and its own ``nodes`` and ``edges``.

Every structural problem raises :class:`DesignFileError` naming the file, the JSON path and what
would fix it. Model-level problems (an unknown block type, a parameter out of range) load fine and
are reported by validation, so that a user can open a broken design and repair it.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import stat
from collections.abc import Callable
from typing import Any

from designer.core.atomicfile import atomic_write  # re-exported: older imports use it
from designer.core.composite import IMPLICIT, CompositeDef, is_expr, nesting_problem
from designer.core.errors import DesignFileError
from designer.core.expr import ExprError, names_in
from designer.core.graph import IDENTIFIER, Design
from designer.core.params import KINDS, Param

FORMAT = "torch-designer"
VERSION = 1
MAX_BYTES = 64 * 1024 * 1024
MAX_NODES = 100_000
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}  # version N -> function turning N into N + 1


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


# -- reading --------------------------------------------------------------------------------------


def load(path: str | os.PathLike) -> Design:
    """Read a design file."""
    return loads(read_text(path), str(path))


def read_text(path: str | os.PathLike, limit: int = MAX_BYTES) -> str:
    """A regular file's UTF-8 text, reading at most ``limit`` bytes; every failure is one
    :class:`DesignFileError` naming the file and the fix."""
    source = str(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise DesignFileError(source, "", "is a folder, not a design file")
        if not stat.S_ISREG(mode):
            raise DesignFileError(source, "", "not a regular file (a device, FIFO or socket)")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # replaced since the stat above
                raise DesignFileError(source, "", "not a regular file (a device, FIFO or socket)")
            data = f.read(limit + 1)
    except OSError as exc:
        raise DesignFileError(source, "", _os_problem(exc)) from None
    if len(data) > limit:
        raise DesignFileError(source, "", f"file is larger than {limit:,} bytes")
    if data.startswith(codecs.BOM_UTF8):
        raise DesignFileError(
            source, "", "starts with a byte order mark (BOM); save it as UTF-8 without BOM"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DesignFileError(source, "", f"not UTF-8 text (byte {exc.start})") from None


def _os_problem(exc: OSError) -> str:
    """What an operating-system error means for a file we read."""
    problems = {
        errno.ENOENT: "no such file; check the path",
        errno.EISDIR: "is a folder, not a design file",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ELOOP: "too many levels of symbolic links (a link loop?); fix the link",
        errno.ENAMETOOLONG: "the file name is too long",
        errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
        errno.EIO: "input/output error while reading (a failing disk or network share?)",
    }
    return problems.get(exc.errno, f"cannot read: {exc.strerror or exc}")


def loads(text: str, source: str = "<string>") -> Design:
    """Parse a design from JSON text."""
    if text.startswith("\ufeff"):
        raise DesignFileError(
            source, "", "starts with a byte order mark (BOM); save it as UTF-8 without BOM"
        )
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise DesignFileError(
            source, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}"
        ) from None
    except _DuplicateKey as exc:
        raise DesignFileError(
            source, "", f"key {exc.args[0]!r} appears twice in one object; keep one of them"
        ) from None
    except ValueError as exc:  # integers over Python's digit limit
        raise DesignFileError(source, "", f"invalid JSON: {exc}") from None
    except RecursionError:
        raise DesignFileError(source, "", "JSON nested too deeply") from None
    return design_from_dict(data, source)


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return data


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
        if "when" in node:
            exprs.append(("when", node["when"]))
        for key, text in exprs:
            where = f"{path}.nodes[{node_id}].{'when' if key == 'when' else 'params.' + key}"
            try:
                unknown = sorted(names_in(text) - allowed)
            except ExprError as exc:
                raise r.fail(where, str(exc)) from None
            if unknown:
                raise r.fail(
                    where, f"unknown name {unknown[0]!r}; declared: {', '.join(sorted(allowed))}"
                )
        if "when" in node and len(body.inputs_of(node_id)) != 1:
            raise r.fail(
                f"{path}.nodes[{node_id}].when", "a conditional node needs exactly one input wire"
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
        ("doc", "min", "max", "choices", "optional", "length"),
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
    )
    if not all(isinstance(c, str) for c in param.choices):
        raise r.fail(f"{path}.choices", "expected a list of strings")
    if param.length is not None and param.length not in (1, 2, 3):
        raise r.fail(f"{path}.length", "expected 1, 2 or 3")
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
            ("params", "label", "pos", "when") if composite else ("params", "label", "pos"),
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
    """A parameter value as files hold it: a scalar or a flat list of scalars."""
    if isinstance(value, list):
        return len(value) <= 16 and all(isinstance(v, _SCALAR) for v in value)
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


# -- writing --------------------------------------------------------------------------------------


def design_to_dict(design: Design) -> dict[str, Any]:
    """Plain JSON data in a stable key order (params sorted) so that diffs stay readable."""
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": design.name}
    if design.meta:
        data["meta"] = design.meta
    if design.blocks:
        data["blocks"] = {
            name: composite_to_dict(block) for name, block in sorted(design.blocks.items())
        }
    data.update(_graph_to_dict(design))
    return data


def composite_to_dict(block: CompositeDef) -> dict[str, Any]:
    data: dict[str, Any] = {"category": block.category, "doc": block.doc, "params": []}
    for p in block.params:
        entry: dict[str, Any] = {"name": p.name, "type": p.kind, "default": p.to_json()}
        for key in ("min", "max", "length"):
            if getattr(p, key) is not None:
                entry[key] = getattr(p, key)
        if p.choices:
            entry["choices"] = list(p.choices)
        if p.optional:
            entry["optional"] = True
        if p.doc:
            entry["doc"] = p.doc
        data["params"].append(entry)
    data.update(_graph_to_dict(block.body))
    return data


def _graph_to_dict(design: Design) -> dict[str, Any]:
    nodes = []
    for node_id in design.node_ids():
        d = design.node(node_id)
        entry = {
            "id": node_id,
            "type": d["type"],
            "label": d["label"],
            "params": _jsonable(dict(sorted(d["params"].items()))),
        }
        if "when" in d:
            entry["when"] = d["when"]
        entry["pos"] = [_num(d["pos"][0]), _num(d["pos"][1])]
        nodes.append(entry)
    edges = [{"from": f"{s}.{sp}", "to": f"{t}.{tp}"} for s, sp, t, tp in design.edges()]
    return {"nodes": nodes, "edges": edges}


def _num(value: float) -> float | int:
    rounded = round(float(value), 2)  # round first, so that saving again gives the same text
    return int(rounded) if rounded.is_integer() else rounded


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def model_fingerprint(design: Design) -> str:
    """SHA-256 of what builds the model: the design without canvas positions (moving a node keeps
    its weights; labels stay in, since they name the weights)."""

    def strip(value: Any) -> Any:
        if isinstance(value, list):
            return [strip(v) for v in value]
        if not isinstance(value, dict):
            return value
        return {k: strip(v) for k, v in value.items() if not (k == "pos" and "type" in value)}

    text = json.dumps(strip(design_to_dict(design)), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dumps(design: Design) -> str:
    return json.dumps(design_to_dict(design), indent=2, ensure_ascii=False) + "\n"


def save(design: Design, path: str | os.PathLike) -> None:
    """Write atomically: a temporary file in the same folder, flushed, renamed over ``path``."""
    atomic_write(path, dumps(design).encode("utf-8"))
