"""Undo and redo as a log of primitive changes to a design.

Every editor command runs inside a :class:`Transaction` that records what it did as a few
primitive operations (a node added or removed, a wire added or removed, one attribute set).
Undo applies their inverses in reverse; redo applies them again. Because every command is built
from the same five primitives, every command is undoable, moves and parameter changes included.

Removing and re-adding nodes or wires changes the graph's iteration order, and that order is
visible (it is the order of a saved file). A structural transaction therefore also remembers the
order of nodes and wires before and after it, and restores the right one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from designer.core.graph import Design

Wire = tuple[str, str, str, str]  # (src, src_port, dst, dst_port)
Order = tuple[tuple[str, ...], tuple[tuple[str, str, str], ...]]  # nodes, (src, dst, key) edges


@dataclass(frozen=True)
class NodeAdded:
    """A node came into being with these attributes (``type``, ``params``, ``label``, ``pos``)."""

    node_id: str
    attrs: dict[str, Any]

    def apply(self, design: Design) -> None:
        design.graph.add_node(self.node_id, **copy.deepcopy(self.attrs))

    def revert(self, design: Design) -> None:
        design.graph.remove_node(self.node_id)


@dataclass(frozen=True)
class NodeRemoved:
    """A node (already without wires) went away; ``attrs`` allows bringing it back."""

    node_id: str
    attrs: dict[str, Any]

    def apply(self, design: Design) -> None:
        design.graph.remove_node(self.node_id)

    def revert(self, design: Design) -> None:
        design.graph.add_node(self.node_id, **copy.deepcopy(self.attrs))


@dataclass(frozen=True)
class WireAdded:
    """A wire from ``src.src_port`` into ``dst.dst_port``."""

    wire: Wire

    def apply(self, design: Design) -> None:
        src, src_port, dst, dst_port = self.wire
        design.graph.add_edge(src, dst, key=dst_port, src_port=src_port, dst_port=dst_port)

    def revert(self, design: Design) -> None:
        design.graph.remove_edge(self.wire[0], self.wire[2], key=self.wire[3])


@dataclass(frozen=True)
class WireRemoved:
    """The inverse of :class:`WireAdded`."""

    wire: Wire

    def apply(self, design: Design) -> None:
        WireAdded(self.wire).revert(design)

    def revert(self, design: Design) -> None:
        WireAdded(self.wire).apply(design)


@dataclass(frozen=True)
class AttrSet:
    """A node attribute (``params``, ``label``, ``pos``, ``repeat``) changed from ``old`` to
    ``new``; None stands for an optional attribute's absence."""

    node_id: str
    key: str
    old: Any
    new: Any

    def apply(self, design: Design) -> None:
        _put(design.graph.nodes[self.node_id], self.key, self.new)

    def revert(self, design: Design) -> None:
        _put(design.graph.nodes[self.node_id], self.key, self.old)


def _put(attrs: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        attrs.pop(key, None)
    else:
        attrs[key] = copy.deepcopy(value)


@dataclass(frozen=True)
class GraphSet:
    """The whole graph replaced at once (grouping and ungrouping rewrite many nodes and wires)."""

    old: nx.MultiDiGraph
    new: nx.MultiDiGraph

    @property
    def nodes(self) -> set[str]:
        return set(self.old) | set(self.new)

    def apply(self, design: Design) -> None:
        design.graph = copy.deepcopy(self.new)

    def revert(self, design: Design) -> None:
        design.graph = copy.deepcopy(self.old)


@dataclass(frozen=True)
class BlocksSet:
    """The design's block definitions changed from ``old`` to ``new`` (name -> CompositeDef).

    The dict is updated in place: composite bodies share it with the design that owns them.
    """

    old: dict[str, Any]
    new: dict[str, Any]

    def apply(self, design: Design) -> None:
        design.blocks.clear()
        design.blocks.update(self.new)

    def revert(self, design: Design) -> None:
        design.blocks.clear()
        design.blocks.update(self.old)


Op = NodeAdded | NodeRemoved | WireAdded | WireRemoved | AttrSet | GraphSet | BlocksSet
STRUCTURAL = (NodeAdded, NodeRemoved, WireAdded, WireRemoved, GraphSet)


def capture_order(design: Design) -> Order:
    """The iteration order of nodes and wires, as a saved file would list them."""
    return tuple(design.graph.nodes), tuple(design.graph.edges(keys=True))


def restore_order(design: Design, order: Order) -> None:
    """Rebuild the graph so that nodes and wires iterate in ``order`` (same content)."""
    old = design.graph
    graph = nx.MultiDiGraph()
    graph.graph.update(old.graph)
    for node_id in order[0]:
        graph.add_node(node_id, **old.nodes[node_id])
    for src, dst, key in order[1]:
        graph.add_edge(src, dst, key=key, **old.edges[src, dst, key])
    design.graph = graph


@dataclass
class Transaction:
    """One undo step: the primitive operations of one command, with the wire order around them."""

    label: str
    ops: list[Op] = field(default_factory=list)
    before: Order | None = None
    after: Order | None = None
    scope: tuple[str, ...] = ()  # the block definitions open when it was made (see Editor.scope)

    @property
    def structural(self) -> bool:
        return self.before is not None

    def affected(self) -> set[str]:
        """Ids of the nodes this step added, removed or changed, or whose wires changed."""
        nodes: set[str] = set()
        for op in self.ops:
            if isinstance(op, (WireAdded, WireRemoved)):
                nodes.update((op.wire[0], op.wire[2]))
            elif isinstance(op, GraphSet):
                nodes |= op.nodes
            elif isinstance(op, BlocksSet):
                continue
            else:
                nodes.add(op.node_id)
        return nodes

    def touches_wires(self) -> bool:
        return any(isinstance(op, STRUCTURAL) for op in self.ops)

    def undo(self, design: Design) -> None:
        for op in reversed(self.ops):
            op.revert(design)
        if self.before is not None:
            restore_order(design, self.before)

    def redo(self, design: Design) -> None:
        for op in self.ops:
            op.apply(design)
        if self.after is not None:
            restore_order(design, self.after)


class History:
    """Undo and redo stacks of transactions, bounded to ``limit`` steps."""

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self.undo_stack: list[Transaction] = []
        self.redo_stack: list[Transaction] = []

    def push(self, step: Transaction) -> None:
        self.undo_stack.append(step)
        del self.undo_stack[: -self.limit]
        self.redo_stack.clear()

    def top(self) -> Transaction | None:
        """The step that produced the current state (None at the start of history)."""
        return self.undo_stack[-1] if self.undo_stack else None

    def clear(self) -> None:
        self.undo_stack.clear()
        self.redo_stack.clear()
