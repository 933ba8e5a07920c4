"""Automatic layered layout, left to right, for designs that have no positions yet."""

from __future__ import annotations

import networkx as nx

from designer.core.graph import Design

COLUMN = 260.0  # canvas pixels between layers
ROW = 170.0  # canvas pixels between nodes of one layer


def layers(design: Design) -> list[list[str]]:
    """Nodes by longest-path depth from the inputs, each layer ordered by its parents' rows."""
    graph = design.graph
    acyclic = graph if nx.is_directed_acyclic_graph(graph) else nx.condensation(graph)
    if acyclic is not graph:  # cycles: lay out by components, members side by side
        mapping = acyclic.graph["mapping"]
        depth_of = _depths(acyclic)
        depth = {n: depth_of[mapping[n]] for n in graph}
    else:
        depth = _depths(graph)
    grouped: dict[int, list[str]] = {}
    for node_id in graph:  # insertion order keeps the author's order as a tie-break
        grouped.setdefault(depth[node_id], []).append(node_id)
    row: dict[str, float] = {}
    result = []
    for d in sorted(grouped):
        members = grouped[d]
        members.sort(key=lambda n: _barycentre(graph, n, row))
        for i, node_id in enumerate(members):
            row[node_id] = i
        result.append(members)
    return result


def _depths(graph: nx.DiGraph) -> dict:
    depth: dict = {}
    for node_id in nx.topological_sort(graph):
        depth[node_id] = max((depth[p] + 1 for p in graph.predecessors(node_id)), default=0)
    return depth


def _barycentre(graph: nx.DiGraph, node_id: str, row: dict[str, float]) -> float:
    parents = [row[p] for p in graph.predecessors(node_id) if p in row]
    return sum(parents) / len(parents) if parents else float("inf")


def auto_layout(design: Design, origin: tuple[float, float] = (40.0, 40.0)) -> None:
    """Give every node a position: one column per layer, rows centred on the widest layer."""
    columns = layers(design)
    tallest = max((len(c) for c in columns), default=0)
    for x, members in enumerate(columns):
        offset = (tallest - len(members)) * ROW / 2
        for y, node_id in enumerate(members):
            design.node(node_id)["pos"] = (origin[0] + x * COLUMN, origin[1] + offset + y * ROW)


def needs_layout(design: Design) -> bool:
    """True when positions are missing (every node at the same point)."""
    return len({design.node(n)["pos"] for n in design.node_ids()}) <= 1 < len(design)
