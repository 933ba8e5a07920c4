"""Blueprints -> the editable design: composite definitions (inner first), then the model.

Written through :class:`~designer.core.builder.DesignBuilder`, so wires follow each block's port
order and the canvas is laid out left to right. Node parameters show what differs from the
block's defaults, plus the ones a reader looks for (``out_channels``, ``kernel_size``...).
"""

from __future__ import annotations

from designer.core.builder import DesignBuilder, Port
from designer.core.composite import CompositeDef
from designer.core.graph import Design
from designer.interop.importer.definitions import Blueprint
from designer.interop.importer.mapped import written_params


def _write(blueprint: Blueprint, blocks: dict, root: bool) -> Design:
    builder = DesignBuilder(blueprint.name)
    design = builder.design
    design.blocks = blocks
    for port, shape in blueprint.inputs:
        if root:
            builder.input(tuple(shape[1:]), node_id=port, dtype=blueprint.dtypes.get(port))
        else:
            design.add_node("Input", node_id=port)
    for op in blueprint.ops:
        spec = design.spec(op.block)
        params = written_params(spec, op.params)
        repeat = op.repeat if op.repeat > 1 else None
        if op.ports is None:
            wired = [Port(*ref) for ref in op.inputs]
            builder.add(op.block, *wired, node_id=op.id, repeat=repeat, **params)
        else:
            builder.add(op.block, node_id=op.id, repeat=repeat, **params)
            for ref, port in zip(op.inputs, op.ports, strict=True):
                design.connect(*ref, op.id, port)
        condition = (blueprint.when or {}).get(op.id)
        if condition is not None:
            design.node(op.id)["when"] = condition
    for port, ref in blueprint.outputs:
        builder.output(Port(*ref), node_id=port)
    return builder.build() if root else design  # a block's body is laid out when opened


def assemble(model: Blueprint, blocks: list[Blueprint], category: str) -> Design:
    """The design of ``model`` with every blueprint in ``blocks`` as one of its composites."""
    shared: dict[str, CompositeDef] = {}
    for blueprint in blocks:
        body = _write(blueprint, shared, root=False)
        shared[blueprint.name] = CompositeDef(
            blueprint.name, body, blueprint.params, category=category, doc=blueprint.doc
        )
    return _write(model, shared, root=True)
