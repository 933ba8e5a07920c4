"""Walking a design: the one node order and the one input-port order every layer uses."""

from __future__ import annotations

import networkx as nx

from designer.core.graph import Design


def flow_order(design: Design) -> list[str]:
    """Topological order that keeps the file's node order where the wiring allows."""
    index = {n: i for i, n in enumerate(design.node_ids())}
    return list(nx.lexicographical_topological_sort(design.graph, key=index.__getitem__))


def ordered_inputs(design: Design, node_id: str) -> list[tuple[str, str]]:
    """The (source node, source port) wired into a node, in port order."""
    spec = design.spec(design.node(node_id)["type"])
    wires = design.inputs_of(node_id)
    return [wires[p] for p in sorted(wires, key=lambda p: spec.port_index(p) or 0)]
