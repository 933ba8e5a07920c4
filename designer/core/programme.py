"""The linear programme the layout's rows come from: limits ``y[b] - y[a] >= delta`` and weighted
pulls, solved exactly as the dual min-cost flow (network simplex), then heights from the limits the
flow keeps tight. Lane limits that no ``y`` can meet (a positive cycle) are found and dropped first.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from itertools import pairwise

import networkx as nx

from designer.core.layering import Dummy

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
    """A cycle of ``limits`` whose deltas sum above zero (Bellman-Ford, longest paths), or None.

    A cycle among the predecessors is such a cycle, so each pass looks for one there: a conflict
    shows after a few passes instead of ``len(nodes)``."""
    far, back = dict.fromkeys(nodes, 0), {}
    for _ in range(len(nodes)):
        changed = False
        for (a, b), delta in limits.items():
            if far[a] + delta > far[b]:
                far[b], back[b], changed = far[a] + delta, a, True
        if not changed:
            return None
        if cycle := _predecessor_cycle(back):
            return cycle
    return list(limits)  # not expected: every limit of the part then counts as the conflict


def _predecessor_cycle(back: dict) -> list[tuple[object, object]] | None:
    """The arcs of a cycle of the predecessor links, in their direction, or None."""
    walked: dict[object, object] = {}
    for start in back:
        node = start
        while node in back and node not in walked:
            walked[node] = start
            node = back[node]
        if walked.get(node) == start and node in back:  # came round to this walk's own path
            cycle, step = [node], back[node]
            while step != node:
                cycle.append(step)
                step = back[step]
            cycle.reverse()
            return list(pairwise([*cycle, cycle[0]]))
    return None


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
