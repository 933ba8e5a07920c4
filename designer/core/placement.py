"""Placement: which stage each node runs in, the wires that cross stages, and automatic splits.

A node (or a block instance) may carry a ``device`` tag: a device name (``cuda:0``, ``cpu``) or a
stage index (``0``, ``1``, ...) that the design's ``meta["stages"]`` maps to a device, so that a
split into stages can also sit on one device (``cpu``, ``cpu``) and run its whole code path on any
machine. Nodes without a tag run wherever the model is put. Nodes inside a block inherit their
instance's tag. A wire between two differently tagged nodes is a cut: its tensor moves there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from math import prod

from designer.core.cost import Cost, costs
from designer.core.device_tags import DEVICE, STAGE, TAG, device_of, tag_of, tag_problem
from designer.core.graph import Design
from designer.core.validate import Report
from designer.core.walk import flow_order

__all__ = [  # the tag rules live in device_tags (validation reads them); re-exported here
    "DEVICE",
    "STAGE",
    "TAG",
    "Cut",
    "apply_split",
    "auto_split",
    "bytes_of",
    "cut_wires",
    "device_of",
    "node_load",
    "per_tag",
    "tag_of",
    "tag_problem",
]


@dataclass(frozen=True)
class Cut:
    """A wire whose tensor moves from one placement to another, with the bytes per sample."""

    src: str
    src_port: str
    dst: str
    dst_port: str
    source: str  # the placement tags ('' where untagged)
    target: str
    bytes_per_sample: int


def bytes_of(report: Report, node_id: str, port: str, itemsize: int = 4) -> int:
    """Bytes per sample of the tensor a node's output port produces (0 when unknown)."""
    info = report.nodes.get(node_id)
    if info is None or port not in info.ports:
        return 0
    shape = info.out_shapes[info.ports.index(port)]
    return prod(d for d in shape[1:] if d is not None) * itemsize


def cut_wires(design: Design, report: Report, itemsize: int = 4) -> list[Cut]:
    """Every wire between differently tagged nodes, in the design's wire order."""
    cuts = []
    for src, src_port, dst, dst_port in design.edges():
        a, b = tag_of(design, src), tag_of(design, dst)
        if a != b and design.node(dst)["type"] != "Output":  # outputs stay where they are made
            size = bytes_of(report, src, src_port, itemsize)
            cuts.append(Cut(src, src_port, dst, dst_port, a, b, size))
    return cuts


def per_tag(design: Design, report: Report) -> dict[str, Cost]:
    """Parameters, MACs and activations summed per placement tag."""
    totals: dict[str, Cost] = {}
    for node_id, cost in costs(design, report).items():
        tag = tag_of(design, node_id)
        totals[tag] = totals.get(tag, Cost()) + cost
    return totals


# -- automatic split ----------------------------------------------------------------------------


def node_load(cost: Cost, by: str, batch: int = 1, itemsize: int = 4) -> float:
    """What a split balances: memory (weights + activations) or multiply-accumulates."""
    if by == "macs":
        return float(cost.macs)
    if by == "memory":
        return float(cost.params * itemsize + cost.activation_bytes(batch, itemsize))
    raise ValueError(f"cannot balance by {by!r}: use memory or macs")


def auto_split(
    design: Design, report: Report, stages: int, by: str = "memory", slack: float = 0.05
) -> dict[str, int]:
    """Contiguous stages along the flow order: the most loaded stage within ``slack`` of the best
    possible, and among those splits the one that moves the fewest bytes over its cuts."""
    order = [n for n in flow_order(design) if n in report.nodes]
    if not 1 <= stages <= max(1, len(order)):
        raise ValueError(f"cannot split {len(order)} nodes into {stages} stages")
    node_costs = costs(design, report)
    loads = [node_load(node_costs.get(n, Cost()), by) for n in order]
    prefix = [0.0]
    for load in loads:
        prefix.append(prefix[-1] + load)
    bound = _least_max_load(loads, stages) * (1 + slack)
    bounds = _cheapest_bounds(prefix, _crossing_bytes(design, report, order), stages, bound)
    return {n: sum(i >= b for b in bounds) for i, n in enumerate(order)}


def _least_max_load(loads: list[float], stages: int) -> float:
    """The smallest possible load of the most loaded stage (binary search with greedy packing)."""
    low, high = max(loads, default=0.0), sum(loads)
    for _ in range(60):
        if high - low <= 1e-9 * max(high, 1.0):
            break
        middle = (low + high) / 2
        low, high = (low, middle) if _packs(loads, stages, middle) else (middle, high)
    return high


def _packs(loads: Iterable[float], stages: int, limit: float) -> bool:
    used, room = 1, limit
    for load in loads:
        if load > room:
            used, room = used + 1, limit
        room -= load
    return used <= stages


def _crossing_bytes(design: Design, report: Report, order: list[str]) -> list[int]:
    """For each boundary position p (before ``order[p]``), the bytes of the wires it would cut."""
    position = {n: i for i, n in enumerate(order)}
    delta = [0] * (len(order) + 2)
    for src, src_port, dst, _ in design.edges():
        a, b = position.get(src), position.get(dst)
        if a is not None and b is not None and a < b:
            size = bytes_of(report, src, src_port)
            delta[a + 1] += size
            delta[b + 1] -= size
    crossing, running = [], 0
    for p in range(len(order) + 1):
        running += delta[p]
        crossing.append(running)
    return crossing


def _cheapest_bounds(
    prefix: list[float], crossing: list[int], stages: int, bound: float
) -> list[int]:
    """Boundary positions for ``stages`` non-empty stages, each within ``bound``, that cut the
    fewest bytes (dynamic programming over stage ends)."""
    n, inf = len(prefix) - 1, float("inf")
    best = [[inf] * (n + 1) for _ in range(stages + 1)]
    came = [[0] * (n + 1) for _ in range(stages + 1)]
    best[0][0] = 0.0
    for j in range(1, stages + 1):
        for end in range(j, n + 1):
            for start in range(end - 1, j - 2, -1):
                if prefix[end] - prefix[start] > bound * (1 + 1e-12):
                    break
                paid = best[j - 1][start] + (crossing[start] if j > 1 else 0)
                if paid < best[j][end]:
                    best[j][end], came[j][end] = paid, start
    if best[stages][n] == inf:
        raise ValueError("no contiguous split fits the balance bound")
    bounds, end = [], n
    for j in range(stages, 1, -1):
        end = came[j][end]
        bounds.append(end)
    return sorted(bounds)


def apply_split(design: Design, assignment: dict[str, int], devices: list[str]) -> None:
    """Tag each node with its stage index and record the stages' devices in the design."""
    for node_id, stage in assignment.items():
        design.node(node_id)[TAG] = str(stage)
    design.meta["stages"] = list(devices)
