"""A scope's attributes: one slot per unit, named after its nodes' labels."""

from __future__ import annotations

import re

from designer.core.graph import Design
from designer.live.names import Namespace, module_attributes, node_label, snake
from designer.live.plan_types import Slot
from designer.live.units import Unit


def _chain_name(design: Design, unit: Unit, class_name: str | None, whole: bool) -> str:
    """A Sequential's name: the members' common label prefix, their joined labels (two), the
    class name when the chain is the whole body (``double_conv``), else ``first_to_last``."""
    labels = [node_label(design, n) for n in unit.nodes]
    prefix = _common_prefix(labels)
    if prefix:
        return prefix
    if len(labels) == 2:
        return "_".join(labels)
    if whole and class_name:
        return snake(class_name)
    return f"{labels[0]}_to_{labels[-1]}"


def _common_prefix(labels: list[str]) -> str:
    """``res1_conv1``, ``res1_bn1`` -> ``res1`` (whole words only)."""
    words = [label.split("_") for label in labels]
    common = []
    for group in zip(*words, strict=False):
        if len(set(group)) != 1:
            break
        common.append(group[0])
    return "_".join(common)


def plan_slots(
    design: Design,
    units: list[Unit],
    class_name: str | None,
    whole_body: bool,
    reserved: frozenset[str] = frozenset(),
) -> tuple[list[Slot], dict[int, str]]:
    names = Namespace(module_attributes() | reserved)
    slots, attr_of = [], {}
    for i, unit in enumerate(units):
        if unit.kind == "functional":
            continue
        if unit.kind == "gate":
            slot = _gate_slot(design, unit, names)
        elif unit.kind == "parallel":
            slot = _container(design, unit, names.take("branches"))
        else:
            whole = whole_body and len(units) == 1
            slot = _plain_slot(
                design, unit, names.take(_unit_name(design, unit, class_name, whole))
            )
        attr_of[i] = slot.attr
        slots.append(slot)
    return slots, attr_of


def _gate_slot(design: Design, unit: Unit, names: Namespace) -> Slot:
    """A conditional node with several inputs: its module, or the flag of a functional op."""
    (node_id,) = unit.nodes
    label = node_label(design, node_id)
    if design.spec(design.node(node_id)["type"]).functional is not None:
        return Slot(names.take(f"use_{label}"), "flag", (node_id,), tuple(unit.when))
    return Slot(names.take(label), "optional", (node_id,), tuple(unit.when))


def _unit_name(design: Design, unit: Unit, class_name: str | None, whole: bool) -> str:
    if unit.kind == "sequential":
        return _chain_name(design, unit, class_name, whole)
    return node_label(design, unit.nodes[0])


def _plain_slot(design: Design, unit: Unit, attr: str) -> Slot:
    return Slot(attr, unit.kind, tuple(unit.nodes), tuple(unit.when))


def _anonymous(design: Design, unit: Unit) -> bool:
    """True when every node of the unit still has its automatic id as label (``conv2d_1``)."""
    return all(
        re.fullmatch(
            re.escape(design.node(n)["type"].lower()) + r"(_\d+)?", design.node(n)["label"]
        )
        for n in unit.nodes
    )


def _container(design: Design, unit: Unit, attr: str) -> Slot:
    """A ModuleDict keyed by the branches' names, or a ModuleList when they have none."""
    if any(_anonymous(design, b) for b in unit.branches):
        entries = [_plain_slot(design, b, str(i)) for i, b in enumerate(unit.branches)]
        kind = "list"
    else:
        keys = Namespace(module_attributes("ModuleDict"))
        entries = [
            _plain_slot(design, b, keys.take(_unit_name(design, b, None, False)))
            for b in unit.branches
        ]
        kind = "dict"
    nodes = tuple(n for b in unit.branches for n in b.nodes)
    return Slot(attr, kind, nodes, entries=tuple(entries))
