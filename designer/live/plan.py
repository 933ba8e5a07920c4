"""The plan: how a design becomes modules and a forward, shared by the live model and the code.

Both :func:`designer.build` and :func:`designer.generate_code` read the same :class:`Plan`, so the
live model and the generated source have the same attributes, the same containers and the same
forward steps, and therefore the same ``state_dict`` keys.

A scope (the model, or the body of one composite block type) becomes:

* **slots**: one attribute each, in data-flow order. A linear chain of single-input,
  single-output modules is one ``nn.Sequential`` (as the seed's ``double_conv``); two conditional
  nodes in a row whose conditions are each other's negation (Up's ``bilinear`` switch) share one
  attribute chosen by an ``if``/``else``; a lone conditional node falls back to ``nn.Identity``.
* **steps**: a straight-line forward. A value read once, by the very next step, flows in the
  running variable (``x``); every other value (skips, fan-outs) gets its own name ``x1``, ``x2``...
  in order of definition; the model's outputs take their Output labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from designer.core.graph import Design
from designer.core.validate import Report, validate
from designer.core.walk import walk
from designer.live.names import Namespace, camel
from designer.live.plan_types import BlockClass, Plan, PlanError
from designer.live.scope import plan_scope

__all__ = ["BlockClass", "Plan", "PlanError", "make_plan"]


def make_plan(
    design: Design,
    input_shapes: Mapping[str, tuple] | None = None,
    *,
    class_name: str | None = None,
    report: Report | None = None,
) -> Plan:
    """Validate ``design`` and plan its model class and one class per composite block type used.

    Raises :class:`PlanError` listing the validation errors when the design is invalid.
    """
    report = report if report is not None else validate(design, input_shapes)
    if not report.ok:
        raise PlanError(f"design {design.name!r} is not valid:", report.errors)
    blocks, helpers = _uses(design)
    helpers = tuple(sorted(helpers))
    module_names = Namespace(frozenset(helpers))
    model_name = module_names.take(class_name or camel(design.name) or "Model", "Model")
    classes: dict[str, BlockClass] = {}
    for block_type in blocks:
        composite = design.spec(block_type).composite
        name = module_names.take(camel(block_type), "Block")
        classes[block_type] = BlockClass(block_type, name, composite.doc, None, composite)
    taken = frozenset(module_names.used | set(helpers))
    inner = _body_ports(design, report, blocks)
    for block_type, block in classes.items():
        body, ports = block.composite.body, inner.get(block_type, {})
        block.scope = plan_scope(body, block.name, model=False, reserved=taken, ports=ports)
    ports = {n: info.ports for n, info in report.nodes.items()}
    model = plan_scope(design, model_name, model=True, reserved=taken, ports=ports)
    return Plan(design, report, model, classes, helpers, taken)


def _body_ports(design: Design, report: Report, blocks: list[str]) -> dict[str, dict]:
    """Per block type, the output ports of each body node whose parameters and input set them
    (a Split), where every instance agrees: its class unpacks exactly those."""
    if not any(_varies(design.spec(b).composite.body) for b in blocks):
        return {}
    seen: dict[str, dict[str, set]] = {}
    for visit in walk(design, report, enter=True):
        if visit.composite and visit.info is not None:
            instance = visit.instance()
            found = seen.setdefault(visit.spec.name, {})
            for node_id in filter(partial(_varies, instance.body), instance.report.nodes):
                found.setdefault(node_id, set()).add(instance.report.nodes[node_id].ports)
    return {b: {n: p.pop() for n, p in nodes.items() if len(p) == 1} for b, nodes in seen.items()}


def _varies(body: Design, node_id: str | None = None) -> bool:
    """Whether a node (else any node of ``body``) has outputs its parameters and input set."""
    nodes = body.node_ids() if node_id is None else [node_id]
    return any(body.spec(body.node(n)["type"]).output_count is not None for n in nodes)


def _called_by(layers: tuple[str, ...]) -> set[str]:
    """The helper functions the layer classes call (imported late: the plan needs no torch)."""
    if not layers:
        return set()
    from designer.live.layers import helpers_called

    return {name for layer in layers for name in helpers_called(layer)}


def _uses(design: Design) -> tuple[list[str], set[str]]:
    """The composite block types ``design`` uses, nested ones included (each after the ones it
    uses), and the helpers (functions, layer classes) their nodes call: one walk by structure,
    entering each block type's definition once."""
    blocks: list[str] = []
    helpers: set[str] = set()
    entered: set[str] = set()

    def enter(visit) -> bool:
        first = visit.spec.name not in entered
        entered.add(visit.spec.name)
        return first

    for visit in walk(design, enter=enter):
        if visit.spec.functional is not None:
            helpers.update(visit.spec.functional.helpers)
        if visit.spec.torch is not None:
            helpers.update(visit.spec.torch.layers)
            helpers.update(_called_by(visit.spec.torch.layers))
        if visit.composite and visit.spec.name not in blocks:
            blocks.append(visit.spec.name)
    return blocks, helpers
