"""Group nodes into a new composite block, and ungroup an instance back into its nodes.

Grouping infers the block's ports from the wires that cross the selection: each outside source
becomes an input port, each inner output used outside an output port, both named after the inner
node and port they connect (``conv_in``, ``relu_out``). A selection that nothing feeds takes its
free inputs as input ports, one that feeds nothing its open ends as output ports, so that every
block has at least one of each. Chosen inner parameters become declared block parameters (their
current values the defaults). Inside a block, inner expressions and conditions are forwarded: the
new block declares a parameter for each and the instance passes the expression in, so that every
name keeps its meaning. The selected nodes are replaced by one instance of the new block, wired as
they were.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from designer.blocks import UnknownBlockError
from designer.core.composite import IMPLICIT, CompositeDef, is_expr
from designer.core.expr import ExprError, names_in
from designer.core.graph import IDENTIFIER, Design, DesignError
from designer.core.params import Param, ParamError
from designer.core.repeat import MAX_REPEAT
from designer.core.validate import validate

BLOCK_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]{0,63}$")
MAX_POS = 1e9 - 1  # files hold canvas positions below 1e9
PORT_GAP = 260.0  # canvas pixels between a block's port nodes and its other nodes
SPREAD = 1.25  # a library block's layered layout is widened when ungrouped (wide inner nodes)

Wire = tuple[str, str, str, str]


def group(
    design: Design,
    nodes: Iterable[str],
    name: str,
    promote: Sequence[tuple[str, str]] = (),
    doc: str = "",
) -> str:
    """Replace ``nodes`` by one instance of a new block ``name``; returns the instance's id.

    ``promote`` lists ``(node, parameter)`` pairs that become parameters of the block.
    """
    selected = list(dict.fromkeys(nodes))
    _check_group(design, selected, name, doc)
    inside = set(selected)
    wires_in = [w for w in design.edges() if w[0] not in inside and w[2] in inside]
    wires_out = [w for w in design.edges() if w[0] in inside and w[2] not in inside]
    taken = set(selected)  # port names are node ids of the body
    sources, feeds = _input_ports(design, selected, wires_in, taken)
    sinks = _output_ports(design, selected, wires_out, taken)
    centre = _centre(design, selected)
    body = _body(design, selected, name, feeds, sinks)
    _place_body(body, feeds, sinks, centre)
    params, args = _declare(design, body, selected, promote)
    design.blocks[name] = CompositeDef(
        name, body, params, category="Blocks", doc=doc or f"{len(selected)} blocks grouped"
    )
    return _replace(design, selected, name, sources, sinks, wires_out, args, centre)


def _centre(design: Design, selected: list[str]) -> tuple[float, float]:
    """Where the instance goes: the middle of the grouped nodes."""
    xs = [design.node(n)["pos"][0] for n in selected]
    ys = [design.node(n)["pos"][1] for n in selected]
    return _place(sum(xs) / len(xs)), _place(sum(ys) / len(ys))


def _place_body(body: Design, feeds, sinks, centre: tuple[float, float]) -> None:
    """Inner nodes keep their layout, relative to the instance (so ungrouping puts them back);
    input ports go to the left of what they feed, output ports to the right of their source."""
    inner = [n for n in body.node_ids() if n not in feeds and n not in sinks.values()]
    for node_id in inner:
        x, y = body.node(node_id)["pos"]
        body.node(node_id)["pos"] = (_place(x - centre[0]), _place(y - centre[1]))
    left = min(body.node(n)["pos"][0] for n in inner) - PORT_GAP
    right = max(body.node(n)["pos"][0] for n in inner) + PORT_GAP
    for port, targets in feeds.items():
        body.node(port)["pos"] = (_place(left), body.node(targets[0][0])["pos"][1])
    for (src, _), port in sinks.items():
        body.node(port)["pos"] = (_place(right), body.node(src)["pos"][1])


def _input_ports(design: Design, selected: list[str], wires_in: list[Wire], taken: set[str]):
    """Outside (node, port) -> input port, and input port -> the inner (node, port) it feeds."""
    sources: dict[tuple[str, str], str] = {}
    feeds: dict[str, list[tuple[str, str]]] = {}
    for src, src_port, dst, dst_port in wires_in:
        if (src, src_port) not in sources:
            sources[src, src_port] = _fresh(taken, f"{dst}_{dst_port}")
        feeds.setdefault(sources[src, src_port], []).append((dst, dst_port))
    if not wires_in:  # nothing feeds the selection: its free inputs become the block's inputs
        for node_id in selected:
            for port in _free_inputs(design, node_id):
                feeds[_fresh(taken, f"{node_id}_{port}")] = [(node_id, port)]
    if not feeds:
        raise DesignError(
            "a block needs at least one input, and nothing is wired into these nodes nor is "
            "any of their inputs free; select a node that takes an input too"
        )
    return sources, feeds


def _output_ports(design: Design, selected: list[str], wires_out: list[Wire], taken: set[str]):
    """Inner (node, port) -> output port: those used outside, else the selection's open ends."""
    sinks: dict[tuple[str, str], str] = {}
    for src, src_port, _, _ in wires_out:
        if (src, src_port) not in sinks:
            sinks[src, src_port] = _fresh(taken, f"{src}_{src_port}")
    if not wires_out:  # nothing uses the selection: its open ends become the block's outputs
        for node_id in selected:
            if not design.outputs_of(node_id):
                for port in _outputs(design, node_id):
                    sinks[node_id, port] = _fresh(taken, f"{node_id}_{port}")
    if not sinks:
        raise DesignError(
            "a block needs at least one output, and none of these nodes has an output to give; "
            "select a node whose output can leave the block"
        )
    return sinks


def _body(design: Design, selected: list[str], name: str, feeds, sinks) -> Design:
    """The new block's body: Input ports, the selected nodes, Output ports, wired."""
    inside = set(selected)
    body = Design(name)
    body.blocks = design.blocks
    for port in feeds:
        body.add_node("Input", node_id=port, pos=(0, 0))
    for node_id in selected:
        data = design.node(node_id)
        body.add_node(
            data["type"],
            dict(data["params"]),
            node_id=node_id,
            label=data["label"],
            pos=data["pos"],
            when=data.get("when"),
            repeat=data.get("repeat"),
        )
    for port in sinks.values():
        body.add_node("Output", node_id=port, pos=(0, 0))
    for src, src_port, dst, dst_port in design.edges():
        if src in inside and dst in inside:
            body.connect(src, src_port, dst, dst_port)
    for port, targets in feeds.items():
        for dst, dst_port in targets:
            body.connect(port, "out", dst, dst_port)
    for (src, src_port), port in sinks.items():
        body.connect(src, src_port, port, "in")
    return body


def _spec(design: Design, node_id: str):
    try:
        return design.spec(design.node(node_id)["type"])
    except UnknownBlockError:
        return None


def _free_inputs(design: Design, node_id: str) -> list[str]:
    """The inputs of a node that no wire feeds (variadic: up to the ones it needs)."""
    spec = _spec(design, node_id)
    if spec is None:
        return []
    wired = design.inputs_of(node_id)
    if spec.variadic:
        indices = {spec.port_index(p) for p in wired} - {None}
        ports = spec.input_ports(max(spec.min_inputs, max(indices, default=-1) + 1) - 1)
    else:
        ports = spec.inputs
    return [p for p in ports if p not in wired]


def _outputs(design: Design, node_id: str) -> tuple[str, ...]:
    spec = _spec(design, node_id)
    if spec is None or spec.output_count is None:
        return () if spec is None else spec.outputs
    info = validate(design).nodes.get(node_id)  # a Split's pieces depend on its input too
    return info.ports if info is not None else spec.output_ports()


def _fresh(taken: set[str], *stems: str) -> str:
    """The first stem not taken (a valid identifier, not a keyword), else the last numbered."""
    clean = []
    for stem in stems:
        stem = re.sub(r"\W", "_", stem)[:56] or "p"
        clean.append(stem if not stem[0].isdigit() else f"p_{stem}"[:56])

    def usable(name: str) -> bool:
        return name not in taken and bool(IDENTIFIER.match(name)) and not keyword.iskeyword(name)

    name, i = next((n for n in clean if usable(n)), None), 1
    while name is None:
        i += 1
        name = f"{clean[-1]}_{i}" if usable(f"{clean[-1]}_{i}") else None
    taken.add(name)
    return name


def _check_group(design: Design, selected: list[str], name: str, doc: str) -> None:
    if not selected:
        raise DesignError("select the nodes to group first")
    for node_id in selected:
        block = design.node(node_id)["type"]
        if block in ("Input", "Output"):
            raise DesignError(f"{block} `{node_id}` cannot go inside a block; leave it out")
    if not BLOCK_NAME.match(name) or keyword.iskeyword(name):
        raise DesignError(
            f"{name!r} is not a block name: start with a capital letter, "
            "then letters, digits or '_'"
        )
    from designer.blocks import REGISTRY

    if name in design.blocks or name in REGISTRY:
        raise DesignError(f"a block named {name!r} already exists; choose another name")
    try:
        doc.encode("utf-8")
    except UnicodeEncodeError:
        raise DesignError("the description is not valid text; retype it") from None


def _declare(design: Design, body: Design, selected: list[str], promote) -> tuple[tuple, dict]:
    """The block's declared parameters, and what the instance passes to them.

    Promoted values become defaults. Inner expressions (and ``when`` conditions) would lose their
    meaning in the new block, so each becomes a declared parameter that the instance sets to the
    expression, evaluated where it was written.
    """
    params: list[Param] = []
    args: dict[str, Any] = {}
    taken = set(IMPLICIT)
    promoted: set[tuple[str, str]] = set()
    for node_id, param_name in promote:
        base = _base(design, body, node_id, param_name)
        value = body.node(node_id)["params"].get(param_name, base.default)
        if is_expr(value):
            continue  # forwarded below
        try:
            default = base.coerce(value)
        except ParamError as exc:
            raise DesignError(f"cannot promote {node_id}.{param_name}: {exc.message}") from None
        declared = _fresh(taken, param_name, f"{node_id}_{param_name}")
        params.append(replace(base, name=declared, default=default))
        body.node(node_id)["params"][param_name] = {"expr": declared}
        promoted.add((node_id, param_name))
    shared: dict[tuple, str] = {}  # (expression, parameter kind) -> declared name
    for node_id in selected:
        data = body.node(node_id)
        for param_name, value in data["params"].items():
            if not is_expr(value) or (node_id, param_name) in promoted:
                continue
            base = _base(design, body, node_id, param_name)
            key = (value["expr"].strip(), replace(base, name="", default=None, doc=""))
            if key not in shared:
                bare = [key[0]] if IDENTIFIER.match(key[0]) else []  # a name: keep it
                shared[key] = _fresh(taken, *bare, param_name, f"{node_id}_{param_name}")
                params.append(_forwarded(base, shared[key]))
                args[shared[key]] = {"expr": value["expr"]}
            data["params"][param_name] = {"expr": shared[key]}
        if "when" in data:
            text = f"not not ({data['when']})"
            try:
                names_in(text)
            except ExprError:
                raise DesignError(f"the condition of `{node_id}` is too long to move") from None
            declared = _fresh(taken, f"{node_id}_when")
            params.append(Param(declared, "bool", True, f"whether {node_id} is used"))
            args[declared] = {"expr": text}
            data["when"] = declared
        if isinstance(data.get("repeat"), str):  # an expression: forwarded as a count
            declared = _fresh(taken, f"{node_id}_repeat")
            params.append(Param(declared, "int", 1, f"copies of {node_id}", 1, MAX_REPEAT))
            args[declared] = {"expr": data["repeat"]}
            data["repeat"] = declared
    return tuple(params), args


def _base(design: Design, body: Design, node_id: str, param_name: str) -> Param:
    """The parameter spec of an inner node's parameter."""
    if node_id not in body:
        raise DesignError(f"`{node_id}` is not among the nodes to group")
    spec = _spec(body, node_id)
    if spec is None:
        raise DesignError(f"`{node_id}` has an unknown block type; fix it before grouping")
    if param_name not in spec.param_index:
        raise DesignError(
            f"{spec.name} `{node_id}` has no parameter {param_name!r}; reset it before grouping"
        )
    return spec.param_index[param_name]


def _forwarded(base: Param, name: str) -> Param:
    """A declared parameter taking a forwarded value: the inner one's kind and range."""
    try:
        return replace(base, name=name, default=base.coerce(base.default))
    except ParamError:  # no valid default: the instance always passes a value
        return replace(base, name=name, default=None, optional=True)


def _replace(design, selected, name, sources, sinks, wires_out, args, centre) -> str:
    instance = design.new_id(re.sub(r"(?<!^)(?=[A-Z])", "_", name))
    for node_id in selected:
        design.remove_node(node_id)
    design.add_node(name, args, node_id=instance, pos=centre)
    for (src, src_port), port in sources.items():
        design.connect(src, src_port, instance, port)
    for src, src_port, dst, dst_port in wires_out:
        design.connect(instance, sinks[src, src_port], dst, dst_port)
    return instance


def ungroup(design: Design, instance: str) -> list[str]:
    """Put a composite instance's nodes back in its place (parameters evaluated); returns them.

    Inner nodes keep their ids where the design has none of that name (ungrouping what was
    grouped gives back the very same nodes, labels and positions), else become
    ``<instance>_<id>``; their positions are the block's layout placed at the instance.
    """
    data = design.node(instance)
    spec = _spec(design, instance)
    if spec is None or spec.composite is None:
        raise DesignError(f"{data['type']} `{instance}` is not a composite block")
    report = validate(design)
    info = report.nodes.get(instance)
    if info is None:
        raise DesignError(f"fix the issues of `{instance}` before ungrouping it")
    body = spec.composite.instantiate(info.values, list(info.in_shapes)).body
    inner = [n for n in body.node_ids() if body.node(n)["type"] not in ("Input", "Output")]
    wires_in = design.inputs_of(instance)
    wires_out = design.outputs_of(instance)
    x0, y0 = data["pos"]
    offsets = _inner_offsets(body, inner)
    design.remove_node(instance)
    rename = _inner_ids(design, instance, inner)
    for old, new in rename.items():
        node = body.node(old)
        label = new if node["label"] == old and new != old else node["label"]
        dx, dy = offsets[old]
        design.add_node(
            node["type"],
            dict(node["params"]),
            node_id=new,
            label=label,
            pos=(_place(x0 + dx), _place(y0 + dy)),
            repeat=node.get("repeat"),
        )
    for src, src_port, dst, dst_port in body.edges():
        if src in rename and dst in rename:
            design.connect(rename[src], src_port, rename[dst], dst_port)
        elif dst in rename:  # from an input port
            outer = wires_in.get(src)
            if outer is not None:
                design.connect(outer[0], outer[1], rename[dst], dst_port)
        elif src in rename:  # to an output port
            for port, target, target_port in wires_out:
                if port == dst:
                    design.connect(rename[src], src_port, target, target_port)
    return list(rename.values())


def _inner_offsets(body: Design, inner: list[str]) -> dict[str, tuple[float, float]]:
    """Where inner nodes go relative to the instance: the block's own layout, or (a library
    block without positions) a layered layout starting at the instance."""
    from designer.core.layout import auto_layout, needs_layout

    if not needs_layout(body):
        return {n: body.node(n)["pos"] for n in inner}
    scratch = Design(body.name)
    scratch.graph = body.graph.copy()
    auto_layout(scratch)
    x0 = min(scratch.node(n)["pos"][0] for n in inner)
    y0 = min(scratch.node(n)["pos"][1] for n in inner)
    return {
        n: ((scratch.node(n)["pos"][0] - x0) * SPREAD, scratch.node(n)["pos"][1] - y0)
        for n in inner
    }


def _inner_ids(design: Design, instance: str, inner: list[str]) -> dict[str, str]:
    """Inner id -> id in the design: the same where free, else prefixed with the instance."""
    rename: dict[str, str] = {}
    for node_id in inner:
        new, i = node_id, 0
        while new in design or new in rename.values():
            i += 1
            new = design.new_id(f"{instance}_{node_id}" + (f"_{i}" if i > 1 else ""))
        rename[node_id] = new
    return rename


def _place(value: float) -> float:
    """A canvas coordinate as files hold it: within bounds, 2 decimals."""
    return round(max(-MAX_POS, min(MAX_POS, value)), 2)
