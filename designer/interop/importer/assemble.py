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
            builder.input(tuple(shape[1:]), node_id=port)
        else:
            design.add_node("Input", node_id=port)
    for op in blueprint.ops:
        spec = design.spec(op.block)
        params = written_params(spec, op.params)
        builder.add(op.block, *(Port(*ref) for ref in op.inputs), node_id=op.id, **params)
        condition = (blueprint.when or {}).get(op.id)
        if condition is not None:
            design.node(op.id)["when"] = condition
    for port, ref in blueprint.outputs:
        builder.output(Port(*ref), node_id=port)
    return builder.build()


def assemble(model: Blueprint, blocks: list[Blueprint], category: str) -> Design:
    """The design of ``model`` with every blueprint in ``blocks`` as one of its composites."""
    shared: dict[str, CompositeDef] = {}
    for blueprint in blocks:
        body = _write(blueprint, shared, root=False)
        shared[blueprint.name] = CompositeDef(
            blueprint.name, body, blueprint.params, category=category, doc=blueprint.doc
        )
    return _write(model, shared, root=True)
