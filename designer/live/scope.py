"""Planning one class: a design or composite body as slots and straight-line forward steps."""

from __future__ import annotations

from collections.abc import Mapping

import networkx as nx

from designer.core.graph import Design
from designer.core.walk import flow_order, keyword_ports, ordered_inputs
from designer.live.names import module_attributes
from designer.live.placed import (
    arg_moves,
    branch_moves,
    device_arguments,
    is_placed,
    placement,
    runs,
    used_tags,
)
from designer.live.plan_types import Scope, Slot, Step
from designer.live.slots import plan_slots
from designer.live.units import RawStep, Unit, group_units, node_kind, unit_order
from designer.live.variables import Variables


def plan_scope(
    design: Design,
    class_name: str,
    *,
    model: bool,
    reserved: frozenset[str] = frozenset(),
    ports: Mapping[str, tuple] | None = None,
) -> Scope:
    """Slots and forward steps for one design or composite body (structure, and from ``ports``
    the outputs validation found where parameters and input set them); the model of a placed
    design also gets its device arguments and the moves at its cut wires."""
    order = flow_order(design)
    units = unit_order(design, group_units(design, order), order)
    placed = model and is_placed(design)
    taken = reserved | module_attributes()
    devices = device_arguments(used_tags(design, order), taken) if placed else {}
    slots, attr_of = plan_slots(
        design, units, None if model else class_name, not model, frozenset(devices.values())
    )
    inputs = [n for n in order if node_kind(design, n) == "input"]
    inputs = sorted(inputs, key=design.node_ids().index)
    outputs = [n for n in design.node_ids() if node_kind(design, n) == "output"]
    alive = set(outputs).union(*(nx.ancestors(design.graph, o) for o in outputs))
    slot_of = {s.attr: s for s in slots}
    raw = [
        _raw_step(design, part, slot_of.get(attr_of.get(i)), placed, span, ports or {})
        for i, unit in enumerate(units)
        for span, part in _parts(design, unit, placed)
    ]
    live = [r for r in raw if r.unit.last in alive]
    dead = [r for r in raw if r.unit.last not in alive]  # computed only when capturing
    variables = Variables(design, inputs, outputs, live, model, reserved)
    scope = Scope(
        name=class_name,
        design=design,
        inputs=[(n, variables.name_of[(n, "out")]) for n in inputs],
        slots=slots,
        steps=[variables.step(s, i) for i, s in enumerate(live)] + [_dead_step(s) for s in dead],
        returns=[variables.return_name(o) for o in outputs],
        outputs=outputs,
    )
    if placed:
        scope.placement = placement(design, devices, slots, scope.inputs)
    for slot in slots:
        for entry in slot.entries or (slot,):
            prefix = f"{slot.attr}.{entry.attr}" if slot.entries else slot.attr
            for k, node_id in enumerate(entry.nodes):
                scope.node_slot[node_id] = (prefix, k if entry.kind == "sequential" else None)
    return scope


def _parts(design: Design, unit: Unit, placed: bool) -> list[tuple[tuple | None, Unit]]:
    """A unit, or a chain cut by placement as its runs: (slice of the Sequential, sub-unit)."""
    spans = runs(design, unit.nodes) if placed and unit.kind == "sequential" else []
    if len(spans) < 2:
        return [(None, unit)]
    return [
        ((a, b), Unit("module" if b - a == 1 else "sequential", unit.nodes[a:b])) for a, b in spans
    ]


def _raw_step(
    design: Design,
    unit: Unit,
    slot: Slot | None,
    placed: bool,
    part: tuple | None = None,
    found: Mapping[str, tuple] | None = None,
) -> RawStep:
    ports, rest = output_ports(design, unit.last, found or {})
    attr = None if slot is None or slot.kind == "flag" else slot.attr
    gate = _gate(slot)
    branches = tuple((e.attr, e.nodes) for e in slot.entries) if slot is not None else ()
    args = ordered_inputs(design, unit.first)
    if placed and unit.kind == "parallel":
        return RawStep(
            unit, attr, args, ports, branches, branch_moves=branch_moves(design, unit, args)
        )
    moves = arg_moves(design, unit.first, args) if placed else ()
    keywords = keyword_ports(design, unit.first)
    return RawStep(
        unit, attr, args, ports, branches, moves, part, keywords=keywords, gate=gate, rest=rest
    )


def output_ports(design: Design, node_id: str, found: Mapping[str, tuple]) -> tuple[tuple, bool]:
    """A node's output ports, and whether more may follow: a block whose parameters and input
    set its outputs has those validation ``found``, else (a block's body whose instances differ)
    the ports up to the last one wired, at least two."""
    spec = design.spec(design.node(node_id)["type"])
    if spec.output_count is None:
        return tuple(spec.outputs), False
    if node_id in found:
        return found[node_id], False
    wired = [int(p[3:]) for p, _, _ in design.outputs_of(node_id) if p[3:].isdigit()]
    return spec.output_ports(count=max([2, *wired])), True


def _gate(slot: Slot | None) -> str:
    """The forward's test of a conditional node with several inputs ('' for other slots)."""
    if slot is None or slot.kind not in ("flag", "optional"):
        return ""
    return f"self.{slot.attr}" if slot.kind == "flag" else f"self.{slot.attr} is not None"


def _dead_step(raw: RawStep) -> Step:
    """A step whose result reaches no Output: not written, run live only to capture previews."""
    return Step(
        nodes=tuple(raw.unit.nodes),
        last=raw.unit.last,
        slot=raw.attr,
        args=(),
        outs=(None,) * len(raw.ports),
        ports=raw.ports,
        arg_keys=tuple(raw.args),
        dead=True,
        branches=raw.branches,
        moves=raw.moves,
        part=raw.part,
        branch_moves=raw.branch_moves,
        keywords=raw.keywords if any(raw.keywords) else (),
        gate=raw.gate,
        rest=raw.rest,
    )
