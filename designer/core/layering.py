"""Columns and orders for the layered layout: every wire runs left to right, few of them cross.

A node's column is its longest path from the inputs; a node that feeds more wires than it takes
(an Input, a learned Parameter) moves right, next to its first consumer. A wire spanning several
columns gets a :class:`Dummy` in each column it crosses: a lane the coordinates keep free of nodes.
Orders come from barycentre sweeps that see pins (an Add's first input sits above its second),
keeping the fewest crossings; wires that share a node then gather in one gap of a column.
The rows come from the linear programme of :mod:`designer.core.programme`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

import networkx as nx

SWEEPS = 12  # barycentre sweeps (alternating directions) before keeping the best order
PATIENCE = 4  # sweeps without fewer crossings before stopping early


@dataclass(frozen=True)
class Wire:
    """One wire, from an output pin to an input pin."""

    src: str
    src_port: str
    dst: str
    dst_port: str


class Dummy(NamedTuple):  # a tuple: hashed and compared in C, millions of times a layout
    """The place of wire number ``wire`` in a column it crosses."""

    wire: int
    column: int


Item = str | Dummy  # a node id or a wire's place
Pin = Callable[[Wire, bool], float]  # (wire, at its source?) -> the pin's place in its node, 0..1


@dataclass
class Layering:
    """Columns of nodes and wire places, each in its order top to bottom."""

    columns: list[list[Item]]
    column_of: dict[str, int]
    wires: list[Wire]  # the wires that run left to right (a cycle's closing wire is left out)

    def span(self, wire: Wire) -> int:
        return self.column_of[wire.dst] - self.column_of[wire.src]


def wires_of(graph: nx.MultiDiGraph) -> list[Wire]:
    """Every wire of a design graph, in its edge order."""
    return [
        Wire(s, d["src_port"], t, d["dst_port"]) for s, t, d in graph.edges(data=True) if s != t
    ]


def layer(graph: nx.MultiDiGraph, pin: Pin) -> Layering:
    """Columns along the flow and low-crossing orders within them."""
    order = _flow_order(graph)
    rank = {n: i for i, n in enumerate(order)}
    wires = [w for w in wires_of(graph) if rank[w.src] < rank[w.dst]]
    column_of = _columns(order, wires)
    layering = Layering(_initial(order, wires, column_of), column_of, wires)
    _reduce_crossings(layering, pin)
    for column in layering.columns:
        _gather(layering, column)
    return layering


def _flow_order(graph: nx.MultiDiGraph) -> list[str]:
    """A topological order (the author's node order where free); with a cycle, a depth-first
    order whose backward wires are then left out."""
    if nx.is_directed_acyclic_graph(graph):
        index = {n: i for i, n in enumerate(graph)}
        return list(nx.lexicographical_topological_sort(graph, key=index.__getitem__))
    return list(reversed(list(nx.dfs_postorder_nodes(graph))))


def _columns(order: list[str], wires: list[Wire]) -> dict[str, int]:
    """Longest path from the sources; then, right to left, a node that feeds more wires than it
    takes (or takes none) moves next to its nearest consumer: fewer and shorter long wires."""
    into: dict[str, list[Wire]] = {n: [] for n in order}
    out: dict[str, list[Wire]] = {n: [] for n in order}
    for w in wires:
        into[w.dst].append(w)
        out[w.src].append(w)
    column: dict[str, int] = {}
    for n in order:
        column[n] = max((column[w.src] + 1 for w in into[n]), default=0)
    for n in reversed(order):
        if out[n] and (not into[n] or len(out[n]) > len(into[n])):
            column[n] = max(column[n], min(column[w.dst] for w in out[n]) - 1)
    return column


def _initial(order: list[str], wires: list[Wire], column_of: dict[str, int]) -> list[list[Item]]:
    """Nodes in the flow order, each long wire's places right after its source's column mates."""
    width = max(column_of.values(), default=-1) + 1
    columns: list[list[Item]] = [[] for _ in range(width)]
    for n in order:
        columns[column_of[n]].append(n)
    for i, w in enumerate(wires):
        for c in range(column_of[w.src] + 1, column_of[w.dst]):
            columns[c].append(Dummy(i, c))
    return columns


@dataclass(frozen=True)
class _Link:
    """A piece of a wire between two neighbouring columns: items and pin places (0..1)."""

    left: Item
    left_pin: float
    right: Item
    right_pin: float


def links(layering: Layering, pin: Pin) -> list[list[_Link]]:
    """For each pair of neighbouring columns, the wire pieces between them."""
    pairs: list[list[_Link]] = [[] for _ in range(max(len(layering.columns) - 1, 0))]
    for i, w in enumerate(layering.wires):
        start, end = layering.column_of[w.src], layering.column_of[w.dst]
        chain: list[tuple[Item, float]] = [(w.src, pin(w, True))]
        chain += [(Dummy(i, c), 0.5) for c in range(start + 1, end)]
        chain.append((w.dst, pin(w, False)))
        for c, (a, b) in enumerate(pairwise(chain), start=start):
            pairs[c].append(_Link(a[0], a[1], b[0], b[1]))
    return pairs


def _reduce_crossings(layering: Layering, pin: Pin) -> None:
    """Alternate barycentre sweeps; keep the orders with the fewest crossings."""
    pairs = links(layering, pin)
    columns = layering.columns
    best, best_count, idle = [list(c) for c in columns], crossings(columns, pairs), 0
    for sweep in range(SWEEPS):
        if best_count == 0 or idle >= PATIENCE:
            break
        forward = sweep % 2 == 0
        steps = range(1, len(columns)) if forward else range(len(columns) - 2, -1, -1)
        for c in steps:
            fixed = columns[c - 1] if forward else columns[c + 1]
            _sort_by_barycentre(columns[c], fixed, pairs[c - 1] if forward else pairs[c], forward)
        count = crossings(columns, pairs)
        if count < best_count:
            best, best_count, idle = [list(c) for c in columns], count, 0
        else:
            idle += 1
    layering.columns = best


def together(layering: Layering, column: list[Item]) -> list[list[Dummy]]:
    """The wire places of a column in groups of wires that share a node (transitively), each
    in column order. A wire's lane spans the heights of both its pins, so wires of one group
    cannot pass a node on both sides."""
    parent: dict[Dummy, Dummy] = {}

    def root(d: Dummy) -> Dummy:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    first: dict[str, Dummy] = {}
    for item in column:
        if isinstance(item, Dummy):
            parent[item] = item
            wire = layering.wires[item.wire]
            for end in (wire.src, wire.dst):
                if end in first:
                    parent[root(item)] = root(first[end])
                else:
                    first[end] = item
    groups: dict[Dummy, list[Dummy]] = {}
    for d in parent:
        groups.setdefault(root(d), []).append(d)
    return list(groups.values())


def _gather(layering: Layering, column: list[Item]) -> None:
    """Move each group of wire places into one gap between nodes (its middle member's)."""
    gap: dict[Item, int] = {}
    nodes = 0
    for item in column:
        if isinstance(item, str):
            nodes += 1
        gap[item] = nodes
    for group in together(layering, column):
        middle = gap[group[len(group) // 2]]
        for d in group:
            gap[d] = middle
    where = {item: i for i, item in enumerate(column)}
    column.sort(key=lambda i: (gap[i] + (0 if isinstance(i, str) else 0.5), where[i]))


def _sort_by_barycentre(
    column: list[Item], fixed: list[Item], pieces: list[_Link], forward: bool
) -> None:
    """Order ``column`` by the mean place of the pins it is wired to in ``fixed``."""
    at = {item: i for i, item in enumerate(fixed)}
    sums: dict[Item, list[float]] = {}
    for p in pieces:
        mine, other, pin = (
            (p.right, p.left, p.left_pin) if forward else (p.left, p.right, p.right_pin)
        )
        total = sums.setdefault(mine, [0.0, 0])
        total[0] += at[other] + pin
        total[1] += 1
    here = {item: i for i, item in enumerate(column)}

    def key(item: Item) -> tuple[float, int]:
        total = sums.get(item)
        return (total[0] / total[1] if total else here[item] + 0.5, here[item])

    column.sort(key=key)


def crossings(columns: list[list[Item]], pairs: list[list[_Link]]) -> int:
    """How many wire pieces cross, pins included (two wires into one node's swapped ports)."""
    total = 0
    for c, pieces in enumerate(pairs):
        left = {item: i for i, item in enumerate(columns[c])}
        right = {item: i for i, item in enumerate(columns[c + 1])}
        ends = sorted((left[p.left] + p.left_pin, right[p.right] + p.right_pin) for p in pieces)
        total += _inversions([b for _, b in ends])
    return total


def _inversions(values: Iterable[float]) -> int:
    """Pairs i < j with values[i] > values[j] (a Fenwick tree over ranks)."""
    values = list(values)
    ranks = {v: r for r, v in enumerate(sorted(set(values)), start=1)}
    tree = [0] * (len(ranks) + 1)
    count = 0
    for seen, v in enumerate(values):
        r = ranks[v]
        below, i = 0, r
        while i > 0:
            below += tree[i]
            i -= i & -i
        count += seen - below
        i = r
        while i < len(tree):
            tree[i] += 1
            i += i & -i
    return count
