"""Expanding a block instance in place, and collapsing it back into the very same instance.

:meth:`ExpansionCommands.expand` ungroups an instance (its parameters evaluated into the inner
nodes) and moves the nodes to its right out of the way; the editor remembers what the instance
was. :meth:`ExpansionCommands.collapse` puts it back, with its id, parameters and wires, as long
as the expanded nodes and their wires are as they were (moving them is fine); edited ones are
refused with a hint (group them into a block of their own instead). Each is one undo step. The
record needs no care on undo and redo: it applies only while its nodes are on the canvas and the
instance is not.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import networkx as nx

from designer.core.graph import Design
from designer.edit.block_commands import BlockCommands
from designer.edit.history import GraphSet
from designer.edit.refused import EditRefused

Wire = tuple[str, str, str, str]


@dataclass(frozen=True)
class Expansion:
    """What an expanded instance was, and what it became."""

    instance: str
    attrs: dict[str, Any]  # the instance node as it was
    wires: tuple[Wire, ...]  # its wires in and out
    nodes: dict[str, tuple]  # inner node -> (type, params) as expanded
    touching: frozenset[Wire]  # every wire touching the inner nodes, as expanded
    shifted: tuple[str, ...]  # nodes moved right to make room
    shift: float
    order: tuple  # the graph's node and wire order before expanding (a collapse restores it)


class ExpansionCommands(BlockCommands):
    """Expand and collapse composite instances in place."""

    def expand(self, instance: str) -> list[str]:
        """Show an instance's inner nodes in its place (one undo step); returns them."""
        data = self._need(instance)
        attrs = copy.deepcopy(dict(data))
        order = (tuple(self.design.graph.nodes), tuple(self.design.graph.edges(keys=True)))
        wires = tuple(w for w in self.design.edges() if instance in (w[0], w[2]))
        x0 = data["pos"][0]
        right = [n for n in self.design.node_ids() if self.design.node(n)["pos"][0] > x0]
        with self._transaction(f"Expand {instance}"):
            nodes = self.ungroup(instance)
            shift = max(self.design.node(n)["pos"][0] for n in nodes) - x0 if nodes else 0.0
            if shift > 0 and right:
                self.move({n: _moved(self.design.node(n)["pos"], shift) for n in right})
        self.expansions[self.scope_names, instance] = Expansion(
            instance,
            attrs,
            wires,
            {n: self._content(n) for n in nodes},
            frozenset(self._touching(nodes)),
            tuple(right) if shift > 0 else (),
            max(shift, 0.0),
            order,
        )
        return nodes

    def collapse(self, instance: str) -> str:
        """Put an expanded instance back, as it was (one undo step); returns its id."""
        record = self._expansion(instance)
        with self._transaction(f"Collapse {instance}"):
            self._do(GraphSet(copy.deepcopy(self.design.graph), self._collapsed(record).graph))
        return instance

    def _collapsed(self, record: Expansion) -> Design:
        """The shown design with the expansion put back, in its order from before."""
        scratch = self._scratch()
        for node_id in record.nodes:
            scratch.remove_node(node_id)
        scratch.graph.add_node(record.instance, **copy.deepcopy(record.attrs))
        for src, src_port, dst, dst_port in record.wires:
            if src in scratch and dst in scratch:
                scratch.connect(src, src_port, dst, dst_port)
        for node_id in record.shifted:
            if node_id in scratch:
                scratch.node(node_id)["pos"] = _moved(scratch.node(node_id)["pos"], -record.shift)
        scratch.graph = _ordered(scratch.graph, record.order)
        return scratch

    def expansion_of(self, node_id: str) -> str | None:
        """The expanded instance a node belongs to, if any."""
        for (scope, instance), record in self.expansions.items():
            if scope == self.scope_names and node_id in record.nodes and self._live(record):
                return instance
        return None

    def expanded_nodes(self) -> set[str]:
        """The nodes of the shown design that belong to an expanded instance."""
        found: set[str] = set()
        for (scope, _), record in self.expansions.items():
            if scope == self.scope_names and self._live(record):
                found |= set(record.nodes)
        return found

    def _live(self, record: Expansion) -> bool:
        design = self.design
        return record.instance not in design and all(n in design for n in record.nodes)

    def _expansion(self, instance: str) -> Expansion:
        record = self.expansions.get((self.scope_names, instance))
        if record is None or not self._live(record):
            raise EditRefused(f"{instance} is not expanded here", "select an expanded block's node")
        if {n: self._content(n) for n in record.nodes} != record.nodes or set(
            self._touching(list(record.nodes))
        ) != set(record.touching):
            raise EditRefused(
                f"the nodes of {instance} were edited since it was expanded",
                "undo those edits, or group the nodes into a block of their own (Ctrl+G)",
            )
        return record

    def _content(self, node_id: str) -> tuple:
        data = self.design.node(node_id)
        return data["type"], copy.deepcopy(data["params"])

    def _touching(self, nodes: list[str]) -> list[Wire]:
        inner = set(nodes)
        return [w for w in self.design.edges() if w[0] in inner or w[2] in inner]


def _ordered(graph: nx.MultiDiGraph, order: tuple) -> nx.MultiDiGraph:
    """The graph with its nodes and wires in ``order`` first, then any others as they are."""
    nodes = [n for n in order[0] if n in graph] + [n for n in graph if n not in set(order[0])]
    known = set(order[1])
    edges = [e for e in order[1] if graph.has_edge(*e)]
    edges += [e for e in graph.edges(keys=True) if e not in known]
    result = nx.MultiDiGraph()
    result.graph.update(graph.graph)
    for node_id in nodes:
        result.add_node(node_id, **graph.nodes[node_id])
    for src, dst, key in edges:
        result.add_edge(src, dst, key=key, **graph.edges[src, dst, key])
    return result


def _moved(pos: tuple[float, float], dx: float) -> tuple[float, float]:
    return (pos[0] + dx, pos[1])
