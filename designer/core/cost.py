"""What each node costs: parameters, multiply-accumulates and activation memory.

Multiply-accumulates count the weighted sums of convolutions and linear layers (element-wise work,
pooling and normalisation count as zero, as is usual for MAC figures). Activation memory is the
bytes of every tensor a node produces (inside a composite block: all of its inner nodes' outputs,
which training keeps for the backward pass), for the given batch and element size.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from designer.core.graph import Design
from designer.core.validate import Report
from designer.core.walk import Visit


@dataclass(frozen=True)
class Cost:
    """Parameters, multiply-accumulates and activation elements, per sample."""

    params: int = 0
    macs: int = 0
    activations: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.params + other.params, self.macs + other.macs, self.activations + other.activations
        )

    def activation_bytes(self, batch: int = 1, itemsize: int = 4) -> int:
        return self.activations * batch * itemsize


def _elements(shapes) -> int:
    return sum(prod(d for d in s[1:] if d is not None) for s in shapes)


def _own_cost(visit: Visit) -> Cost:
    """A node's cost leaving aside what is inside it (a composite's body counts separately);
    a repeated node's counts every copy."""
    if visit.composite or visit.spec.name in ("Input", "Output"):
        return Cost()
    macs = sum(
        n * visit.spec.macs(copy.values, copy.in_shapes, copy.out_shapes)
        for copy, n in visit.copies()
    )
    return Cost(visit.info.params, macs, visit.copy_count * _elements(visit.info.out_shapes))


def node_cost(design: Design, report: Report, node_id: str) -> Cost:
    """The cost of one node (a composite block: its parameters and the sum over its body, once
    per copy of a repeated one)."""
    visit = Visit(design, report, node_id, node_id)
    if not visit.composite:
        return _own_cost(visit)
    inner = _body_cost(visit)
    return Cost(visit.info.params, inner.macs, inner.activations)


def _body_cost(visit: Visit) -> Cost:
    """MACs and activations of a composite node's body, every copy and nested block included."""
    total = Cost()
    for copy, n in visit.copies():
        for inner in copy.inner():
            cost = _body_cost(inner) if inner.composite else _own_cost(inner)
            total += Cost(0, n * cost.macs, n * cost.activations)
    return total


def costs(design: Design, report: Report) -> dict[str, Cost]:
    """Every node with known shapes, in the report's order."""
    return {n: node_cost(design, report, n) for n in report.order if n in report.nodes}


def total_cost(design: Design, report: Report) -> Cost:
    return sum(costs(design, report).values(), Cost())


def human_bytes(n: float) -> str:
    """``123456789`` -> ``117.7 MiB``: the one way the tool writes a size in bytes."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def human(n: float, unit: str = "") -> str:
    """``31037698`` -> ``31.0 M``; bytes with ``unit='B'`` -> ``118.4 MiB``."""
    if unit == "B":
        return human_bytes(n)
    for suffix in ("", " K", " M", " G", " T"):
        if abs(n) < 1000 or suffix == " T":
            return f"{n:.0f}{suffix}" if not suffix else f"{n:.1f}{suffix}"
        n /= 1000
    return str(n)


COLUMNS = ("node", "block", "params", "macs", "activations", "seconds")


def cost_rows(
    design: Design, report: Report, seconds: dict[str, float] | None = None
) -> list[tuple[str, str, int, int, int, float | None]]:
    """One row per node (node, block, params, MACs, activation bytes, measured seconds or None)."""
    measured = seconds or {}
    return [
        (
            node,
            report.nodes[node].block,
            cost.params,
            cost.macs,
            cost.activation_bytes(),
            measured.get(node),
        )
        for node, cost in costs(design, report).items()
    ]


def sort_rows(rows: list[tuple], column: str, descending: bool = False) -> list[tuple]:
    """Rows sorted by a column of :data:`COLUMNS` (unmeasured times last)."""
    index = COLUMNS.index(column)
    present = [r for r in rows if r[index] is not None]
    missing = [r for r in rows if r[index] is None]
    return sorted(present, key=lambda r: r[index], reverse=descending) + missing
