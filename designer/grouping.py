"""Group nodes into a new composite block, and ungroup an instance back into its nodes.

Grouping infers the block's ports from the wires that cross the selection (each outside source
becomes an input port, each inner output used outside an output port), and turns chosen inner
parameters into declared block parameters (their current values become the defaults). The selected
nodes are replaced by one instance of the new block, wired as they were.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Sequence

from designer.composite import CompositeDef
from designer.graph import IDENTIFIER, Design, DesignError
from designer.params import Param
from designer.validate import validate

BLOCK_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]{0,63}$")


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
    _check_group(design, selected, name)
    inside = set(selected)
    body = Design(name)
    body.blocks = design.blocks
    sources: dict[tuple[str, str], str] = {}  # outside (node, port) -> input port name
    sinks: dict[tuple[str, str], str] = {}  # inside (node, port) -> output port name
    outside_in: list[tuple[tuple[str, str], str, str]] = []
    outside_out: list[tuple[tuple[str, str], str, str]] = []
    for src, src_port, dst, dst_port in list(design.edges()):
        if src not in inside and dst in inside:
            port = sources.setdefault((src, src_port), _port_name("x", len(sources)))
            outside_in.append(((src, src_port), port, dst))
        elif src in inside and dst not in inside:
            port = sinks.setdefault((src, src_port), _port_name("y", len(sinks)))
            outside_out.append(((src, src_port), dst, dst_port))
    for port in sources.values():
        body.add_node("Input", node_id=port, pos=(0, 0))
    for node_id in selected:
        data = design.node(node_id)
        body.add_node(
            data["type"],
            dict(data["params"]),
            node_id=node_id,
            label=data["label"],
            pos=data["pos"],
        )
    for port in sinks.values():
        body.add_node("Output", node_id=port, pos=(0, 0))
    for src, src_port, dst, dst_port in design.edges():
        if src in inside and dst in inside:
            body.connect(src, src_port, dst, dst_port)
    for (src, src_port), port, dst in outside_in:
        for in_port, (s, sp) in design.inputs_of(dst).items():
            if (s, sp) == (src, src_port):
                body.connect(port, "out", dst, in_port)
    for (src, src_port), port in sinks.items():
        body.connect(src, src_port, port, "in")
    params = _promote(design, body, promote)
    design.blocks[name] = CompositeDef(
        name, body, params, category="Blocks", doc=doc or f"{len(selected)} blocks grouped"
    )
    instance = _replace(design, selected, name, sources, sinks, outside_out)
    from designer.layout import auto_layout

    auto_layout(body)
    return instance


def _port_name(stem: str, index: int) -> str:
    return stem if index == 0 else f"{stem}{index + 1}"


def _check_group(design: Design, selected: list[str], name: str) -> None:
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


def _promote(design: Design, body: Design, promote: Sequence[tuple[str, str]]) -> tuple:
    params: list[Param] = []
    for node_id, param_name in promote:
        spec = design.spec(body.node(node_id)["type"])
        if param_name not in spec.param_index:
            raise DesignError(f"{spec.name} `{node_id}` has no parameter {param_name!r}")
        base = spec.param_index[param_name]
        declared = (
            param_name if all(p.name != param_name for p in params) else f"{node_id}_{param_name}"
        )
        if not IDENTIFIER.match(declared):
            raise DesignError(f"cannot promote {node_id}.{param_name}: {declared!r} is not a name")
        current = body.node(node_id)["params"].get(param_name, base.default)
        params.append(
            Param(
                declared,
                base.kind,
                base.coerce(current),
                base.doc,
                base.min,
                base.max,
                base.choices,
                base.optional,
                base.length,
            )
        )
        body.node(node_id)["params"][param_name] = {"expr": declared}
    return tuple(params)


def _replace(design, selected, name, sources, sinks, outside_out) -> str:
    xs = [design.node(n)["pos"][0] for n in selected]
    ys = [design.node(n)["pos"][1] for n in selected]
    instance = design.new_id(re.sub(r"(?<!^)(?=[A-Z])", "_", name))
    for node_id in selected:
        design.remove_node(node_id)
    design.add_node(name, {}, node_id=instance, pos=(sum(xs) / len(xs), sum(ys) / len(ys)))
    for (src, src_port), port in sources.items():
        design.connect(src, src_port, instance, port)
    for inner, dst, dst_port in outside_out:
        design.connect(instance, sinks[inner], dst, dst_port)
    return instance


def ungroup(design: Design, instance: str) -> list[str]:
    """Put a composite instance's nodes back in its place (parameters evaluated); returns them."""
    data = design.node(instance)
    spec = design.spec(data["type"])
    if spec.composite is None:
        raise DesignError(f"{spec.name} `{instance}` is not a composite block")
    report = validate(design)
    info = report.nodes.get(instance)
    if info is None:
        raise DesignError(f"fix the issues of `{instance}` before ungrouping it")
    body = spec.composite.instantiate(info.values, list(info.in_shapes)).body
    rename = {
        n: design.new_id(f"{instance}_{n}")
        for n in body.node_ids()
        if body.node(n)["type"] not in ("Input", "Output")
    }
    wires_in = design.inputs_of(instance)
    wires_out = design.outputs_of(instance)
    x0, y0 = data["pos"]
    design.remove_node(instance)
    for old, new in rename.items():
        inner = body.node(old)
        design.add_node(
            inner["type"],
            dict(inner["params"]),
            node_id=new,
            label=new,
            pos=(x0 + inner["pos"][0], y0 + inner["pos"][1]),
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
