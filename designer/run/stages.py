"""A placed design's run: each stage's parameters and activation memory, each device's share,
and the refusals that come before anything is allocated.

A stage's share of the memory estimate (:func:`designer.core.memory.estimate`) is its own
parameters, and of the activations and inputs the part its nodes produce
(:func:`designer.core.placement.per_tag`); a device also needs the run's workspace and runtime
overhead (a conservative bound: each device is charged them whole). Untagged parts run on the
run's device.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from designer.core.cost import Cost
from designer.core.graph import Design
from designer.core.memory import Estimate, estimate, human_bytes, shortfall
from designer.core.placement import device_of, per_tag, tag_of
from designer.core.validate import Report
from designer.live.devices import placement_problem
from designer.live.placed import is_placed


@dataclass(frozen=True)
class StageUse:
    """One stage (placement tag) of a run: where it runs and what it holds."""

    tag: str  # '' for the untagged parts
    device: str
    params: int
    need: Estimate  # its share of the run's memory estimate

    def line(self) -> str:
        """``stage 0 on cuda:0: 15,234,560 parameters (58.1 MiB), activations 1.2 GiB``."""
        name = f"stage {self.tag}" if self.tag.isdigit() else (self.tag or "untagged")
        return (
            f"{name} on {self.device}: {self.params:,} parameters "
            f"({human_bytes(self.need.parameters)}), activations "
            f"{human_bytes(self.need.activations + self.need.inputs)}"
        )


def stage_uses(
    design: Design, report: Report, home: torch.device, *, capture: bool = True, amp: bool = False
) -> list[StageUse]:
    """Per placement tag, in the order the tags first appear: device, parameters, memory share;
    empty for an unplaced design. Tags on nodes that cost nothing (an untagged Output) are
    left out."""
    if not is_placed(design):
        return []
    whole = estimate(design, report, capture=capture, amp=amp)
    totals = per_tag(design, report)
    params = sum(c.params for c in totals.values()) or 1
    activations = sum(c.activations for c in totals.values()) or 1
    uses = []
    for tag, cost in totals.items():
        if cost == Cost():
            continue
        share = cost.activations / activations
        need = replace(
            whole,
            parameters=round(whole.parameters * cost.params / params),
            inputs=whole.inputs if _holds_inputs(design, tag) else 0,
            activations=round(whole.activations * share),
        )
        uses.append(StageUse(tag, device_of(design, tag) or str(home), cost.params, need))
    return uses


def _holds_inputs(design: Design, tag: str) -> bool:
    return any(tag_of(design, n) == tag for n in design.nodes_of_type("Input"))


def device_needs(uses: list[StageUse]) -> dict[str, Estimate]:
    """What each device holds: its stages' parameters, inputs and activations together."""
    needs: dict[str, Estimate] = {}
    for use in uses:
        held = needs.get(use.device)
        needs[use.device] = use.need if held is None else _together(held, use.need)
    return needs


def _together(a: Estimate, b: Estimate) -> Estimate:
    return replace(
        a,
        parameters=a.parameters + b.parameters,
        inputs=a.inputs + b.inputs,
        activations=a.activations + b.activations,
    )


def placed_run_problem(
    design: Design, report: Report, home: torch.device, free_on, *, capture: bool, amp: bool
) -> str | None:
    """Why a placed design cannot run here: a tag naming no device or a GPU this machine lacks
    (naming the node and the fix), or a device whose share does not fit in ``free_on(device)``."""
    problem = placement_problem(design)
    if problem is not None:
        return problem
    uses = stage_uses(design, report, home, capture=capture, amp=amp)
    for device, need in device_needs(uses).items():
        if device == "meta":
            continue  # shapes only: nothing is allocated there
        problem = shortfall(need, free_on(torch.device(device)), device)
        if problem is not None:
            return problem
    return None


def stage_lines(uses: list[StageUse]) -> list[str]:
    """One line per stage, for a run's report."""
    return [use.line() for use in uses]
