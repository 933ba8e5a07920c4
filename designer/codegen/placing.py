"""A placed model in the generated code, written as by hand.

The devices are constructor arguments defaulting to the design's (``dev0="cuda:0"``), kept as
attributes; each submodule is built and moved with ``.to(dev0)``; the forward moves a tagged input
to its device first, and otherwise calls ``.to(self.dev1)`` exactly on the values that cross a
cut wire. An unplaced design's code has none of this.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from designer.core.graph import Design
from designer.core.placement import device_of
from designer.core.symbolic import code
from designer.live.plan_types import Placement, PlanError, Scope

UNTAGGED_DEFAULT = "cpu"  # where untagged parts of a placed model go unless told otherwise


def device_args(design: Design, placement: Placement) -> tuple[str, ...]:
    """``dev0="cuda:0"``, ...: one argument per tag, the design's device as its default."""
    return tuple(f"{name}={code(_default(design, tag))}" for tag, name in _ordered(placement))


def device_attributes(placement: Placement) -> tuple[str, ...]:
    """``self.dev0 = dev0``, ...: what the forward reads its moves from."""
    return tuple(f"self.{name} = {name}" for _, name in _ordered(placement))


def placed_slot(placement: Placement | None, slot: Any) -> Any:
    """A slot's code with its moves: ``.to(dev0)`` after the whole constructor call, or after
    each member's when a cut runs through its Sequential; unchanged when unplaced."""
    if placement is None:
        return slot
    names = [placement.devices[t] for t in placement.slots[slot.attr]]
    if len(set(names)) == 1:
        return replace(slot, to=f".to({names[0]})")
    if slot.entries:
        entries = tuple(
            replace(e, to=f".to({n})") for e, n in zip(slot.entries, names, strict=True)
        )
        return replace(slot, entries=entries)
    exprs = tuple(f"{e}.to({n})" for e, n in zip(slot.exprs, names, strict=True))
    return replace(slot, exprs=exprs)


def part_of(scope: Scope, step: Any) -> str:
    """``[2]``, ``[:2]``, ``[2:]``: the members of a cut Sequential a step runs ('' for all)."""
    if step.part is None:
        return ""
    start, stop = step.part
    if stop - start == 1:
        return f"[{start}]"
    size = len(next(s for s in scope.slots if s.attr == step.slot).nodes)
    return f"[{start or ''}:{stop if stop < size else ''}]"


def moved(placement: Placement | None, value: str, tag: str | None) -> str:
    """A forward argument, moved to the device of ``tag`` when it crosses a cut wire."""
    if placement is None or tag is None:
        return value
    return f"{value}.to(self.{placement.devices[tag]})"


def entry_lines(scope: Scope) -> list[str]:
    """``x = x.to(self.dev0)`` for each tagged input, before the first step."""
    placement = scope.placement
    if placement is None:
        return []
    return [
        f"{var} = {moved(placement, var, placement.inputs[var])}"
        for _, var in scope.inputs
        if var in placement.inputs
    ]


def _ordered(placement: Placement) -> list[tuple[str, str]]:
    return list(placement.devices.items())


def _default(design: Design, tag: str) -> str:
    if not tag:
        return UNTAGGED_DEFAULT
    device = device_of(design, tag)
    if device is None:
        raise PlanError(f"stage {tag} has no device: add its device to the design's stages")
    return device
