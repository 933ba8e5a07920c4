"""A placed model in the plan: one device argument per placement tag, moves at cut wires only.

Only the model's own nodes carry tags: a block instance runs whole where its tag puts it, its inner
nodes inheriting it. A stage tag ``k`` becomes the argument ``devk``, a device tag (``cuda:1``) the
next free ``devN``, and untagged parts, when a placed design has any, ``device``. A value moves
where a wire joins two differently tagged nodes (:func:`designer.core.placement.cut_wires`), and a
tagged input moves to its tag's device as the forward starts.

Placement never changes a weight's name: a chain cut by placement stays one ``nn.Sequential``, run
in slices (``[:2]``, ``[2:]``) with the move between them, and parallel branches stay one
container, each branch moving its input in and its output back to the merge over cut wires.
"""

from __future__ import annotations

from collections.abc import Iterable

from designer.core.graph import Design
from designer.core.placement import STAGE, tag_of
from designer.live.names import Namespace
from designer.live.plan_types import Placement, Slot

UNTAGGED = "device"  # the argument of untagged parts


def is_placed(design: Design) -> bool:
    """True when any node carries a placement tag."""
    return any(tag_of(design, n) for n in design.node_ids())


def arg_moves(design: Design, consumer: str, args: Iterable[tuple[str, str]]) -> tuple:
    """Per wire into ``consumer``: the consumer's tag where the wire is a cut, else None."""
    target = tag_of(design, consumer)
    return tuple(None if tag_of(design, src) == target else target for src, _ in args)


def branch_moves(design: Design, unit, args: list) -> tuple[tuple[str | None, str | None], ...]:
    """Per parallel branch: the tag its input ``args`` move to, and the tag its output moves
    back to (the merge's), each None where the wire is no cut."""
    merge = tag_of(design, unit.last)
    return tuple(
        (arg_moves(design, b.first, args)[0], None if tag_of(design, b.last) == merge else merge)
        for b in unit.branches
    )


def used_tags(design: Design, order: list[str]) -> list[str]:
    """The tags the forward runs on, in flow order: every node's but the Outputs' (results stay
    where they are made) and untagged Inputs' (they arrive where the caller puts them)."""
    tags: list[str] = []
    for node_id in order:
        kind, tag = design.node(node_id)["type"], tag_of(design, node_id)
        if kind == "Output" or (kind == "Input" and not tag):
            continue
        if tag not in tags:
            tags.append(tag)
    return tags


def device_arguments(tags: list[str], reserved: Iterable[str]) -> dict[str, str]:
    """Tag -> constructor argument: stage ``k`` -> ``devk``, a device the next free ``devN``,
    untagged parts ``device``; in that order."""
    names = Namespace(frozenset(reserved))
    stages = sorted((t for t in tags if STAGE.match(t)), key=int)
    found = {t: names.take(f"dev{int(t)}") for t in stages}
    number = 0
    for tag in tags:
        if tag in found or not tag:
            continue
        while f"dev{number}" in names:
            number += 1
        found[tag] = names.take(f"dev{number}")
    if "" in tags:
        found[""] = names.take(UNTAGGED)
    return found


def runs(design: Design, nodes: list[str]) -> list[tuple[int, int]]:
    """The (start, stop) of each run of equally tagged nodes in a chain."""
    bounds = [
        k for k in range(1, len(nodes)) if tag_of(design, nodes[k - 1]) != tag_of(design, nodes[k])
    ]
    starts = [0, *bounds]
    return list(zip(starts, [*bounds, len(nodes)], strict=True))


def placement(
    design: Design, devices: dict[str, str], slots: list[Slot], inputs: list[tuple[str, str]]
) -> Placement:
    """Where the model's slots run and which inputs move on entry."""
    return Placement(
        devices=devices,
        slots={slot.attr: member_tags(design, slot) for slot in slots},
        inputs={var: tag_of(design, n) for n, var in inputs if tag_of(design, n)},
    )


def member_tags(design: Design, slot: Slot) -> tuple[str, ...]:
    """The tag of each member of a Sequential or entry of a container; of the one module else."""
    if slot.kind == "sequential":
        return tuple(tag_of(design, n) for n in slot.nodes)
    if slot.entries:
        return tuple(tag_of(design, entry.nodes[0]) for entry in slot.entries)
    return (tag_of(design, slot.nodes[0]),)
