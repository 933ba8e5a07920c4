"""Columns and orders for the layered layout: every wire runs left to right, few of them cross.

A node's column is its longest path from the inputs; a node that feeds more wires than it takes
(an Input, a learned Parameter) moves right, next to its first consumer. A wire spanning several
columns gets a :class:`Dummy` in each column it crosses: a lane the coordinates keep free of nodes.
Orders come from barycentre sweeps that see pins (an Add's first input sits above its second),
keeping the fewest crossings; wires that share a node then gather in one gap of a column.
:class:`Programme` is the linear programme the rows come from (:mod:`designer.core.layout`):
limits ``y[b] - y[a] >= delta`` and weighted pulls, solved exactly as the dual min-cost flow
(network simplex), then heights from the limits the flow keeps tight.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise

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


@dataclass(frozen=True)
class Dummy:
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


# -- the rows' linear programme -----------------------------------------------------------------
Origin = tuple[Dummy, str, bool]  # a wire's place, the node it passes, passing below it?


class Programme:
    """Minimise the weighted gaps of pairs subject to ``y[b] - y[a] >= delta``."""

    def __init__(self, nodes: list[str]) -> None:
        self.nodes = nodes  # the variables (some with neither limit nor pull)
        self.limits: dict[tuple[object, object], int] = {}  # (a, b) -> delta
        self.bands: dict[tuple[object, object], list[Origin]] = {}  # limits lanes add
        self.pulls: list[tuple[object, int, object, int, int]] = []  # a, offset, b, offset, w

    def apart(self, a: object, b: object, delta: float, origin: Origin | None = None) -> None:
        delta = math.ceil(delta)
        if self.limits.get((a, b), -math.inf) < delta:
            self.limits[a, b] = delta
        if origin is not None:
            self.bands.setdefault((a, b), []).append(origin)

    def level(self, a: object, da: int, b: object, db: int, weight: int) -> None:
        """Pull ``y[a] + da`` and ``y[b] + db`` level with ``weight``."""
        self.pulls.append((a, da, b, db, weight))

    def _parts(self) -> Iterator[tuple[set, dict]]:
        """Each strongly connected part of the limits (two nodes or more), with its limits."""
        for part in nx.strongly_connected_components(nx.DiGraph(list(self.limits))):
            if len(part) > 1:
                yield part, {k: d for k, d in self.limits.items() if k[0] in part and k[1] in part}

    def conflict(self) -> list[tuple[object, object]] | None:
        """The limits of a cycle no ``y`` meets (lanes on both sides of close pins), or None."""
        return next((c for p, limits in self._parts() if (c := _positive_cycle(p, limits))), None)

    def drop(self, arcs: list[tuple[object, object]]) -> tuple[object, object]:
        """Give up one lane limit of a conflict (that wire may then pass a node); returns it."""
        arc = next((a for a in arcs if a in self.bands), arcs[0])
        del self.limits[arc]
        self.bands.pop(arc, None)
        return arc

    def drop_conflicts(self) -> None:
        """Drop lane limits until no cycle is left, each part once (a drop makes no cycle)."""
        for part, inside in list(self._parts()):
            while (cycle := _positive_cycle(part, inside)) is not None:
                del inside[self.drop(cycle)]

    def solve(self) -> dict[object, int]:
        """The optimal ``y``: network simplex on the dual, then potentials from tight limits."""
        flow = nx.DiGraph()
        flow.add_nodes_from(self.nodes)
        demand: dict[object, int] = {}
        for (a, b), delta in self.limits.items():
            flow.add_edge(a, b, weight=-delta)
        for k, (a, da, b, db, w) in enumerate(self.pulls):
            z = ("pull", k)
            for node, offset in ((a, da), (b, db)):
                flow.add_edge(z, node, weight=offset)  # y[node] + offset >= y[z]
                demand[node] = demand.get(node, 0) + w
                demand[z] = demand.get(z, 0) - w
        nx.set_node_attributes(flow, 0, "demand")
        nx.set_node_attributes(flow, demand, "demand")
        try:
            _, flows = nx.network_simplex(flow)
        except nx.NetworkXException:  # not expected once conflicts are gone: stack tightly
            flows = {a: dict.fromkeys(flow[a], 0) for a in flow}
        return _potentials(flow, flows)


def _positive_cycle(nodes: set, limits: dict) -> list[tuple[object, object]] | None:
    """A cycle of ``limits`` whose deltas sum above zero (Bellman-Ford, longest paths)."""
    far, back = dict.fromkeys(nodes, 0), {}
    changed = None
    for _ in range(len(nodes)):
        changed = None
        for (a, b), delta in limits.items():
            if far[a] + delta > far[b]:
                far[b], back[b], changed = far[a] + delta, a, b
        if changed is None:
            return None
    node = changed
    for _ in range(len(nodes)):  # back into the cycle that keeps growing
        node = back.get(node)
        if node is None:  # not expected; every limit of the part then counts as the conflict
            return list(limits)
    cycle, step = [node], back[node]
    while step != node:
        cycle.append(step)
        step = back[step]
    cycle.reverse()
    return list(pairwise([*cycle, cycle[0]]))


def _potentials(flow: nx.DiGraph, flows: dict) -> dict[object, int]:
    """Lowest ``y`` meeting every limit, with equality where the optimal flow runs: limits the
    flow keeps tight join their nodes into rigid groups, then longest paths between groups."""
    head = {n: (n, 0) for n in flow}  # node -> (a node of its group, y[node] - y[that node])

    def find(n: object) -> tuple[object, int]:
        path, offset = [], 0
        while head[n][0] != n:
            path.append(n)
            n = head[n][0]
        for m in reversed(path):  # compress: each now points at the group's node directly
            offset += head[m][1]
            head[m] = (n, offset)
        return (n, head[path[0]][1]) if path else (n, 0)

    for a, b, data in flow.edges(data=True):
        if flows[a][b] > 0:  # y[b] = y[a] - weight
            (ra, oa), (rb, ob) = find(a), find(b)
            if ra != rb:
                head[rb] = (ra, oa - data["weight"] - ob)
    groups = nx.DiGraph()
    groups.add_nodes_from(find(n)[0] for n in flow)
    for a, b, data in flow.edges(data=True):
        (ra, oa), (rb, ob) = find(a), find(b)
        if ra != rb:
            delta = oa - data["weight"] - ob
            if not groups.has_edge(ra, rb) or groups[ra][rb]["delta"] < delta:
                groups.add_edge(ra, rb, delta=delta)
    base = _longest(groups)
    return {n: base[find(n)[0]] + find(n)[1] for n in flow}


def _longest(graph: nx.DiGraph) -> dict[object, int]:
    """Longest paths from zero over ``delta`` (one pass in topological order when acyclic)."""
    y = dict.fromkeys(graph, 0)
    acyclic = nx.is_directed_acyclic_graph(graph)
    queue = deque(nx.topological_sort(graph) if acyclic else graph)
    queued = set(graph)
    while queue:
        a = queue.popleft()
        queued.discard(a)
        for b, data in graph[a].items():
            if y[a] + data["delta"] > y[b]:
                y[b] = y[a] + data["delta"]
                if not acyclic and b not in queued:
                    queued.add(b)
                    queue.append(b)
    return y
