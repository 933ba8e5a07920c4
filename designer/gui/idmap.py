"""The one lookup between DearPyGui item ids and design things (nodes, ports, wires).

Pure data: no dearpygui import, so that it can be tested on its own. Port identity is never parsed
out of item tags or labels; every item the canvas creates is registered here when it is made and
forgotten when it is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

Wire = tuple[str, str, str, str]  # (src, src_port, dst, dst_port)


@dataclass(frozen=True)
class PortRef:
    """A node's port; ``output`` tells outputs from inputs (a port name may be both)."""

    node: str
    port: str
    output: bool


class IdMap:
    """Bidirectional maps: node <-> node item, port <-> attribute item, wire <-> link item."""

    def __init__(self) -> None:
        self.node_item: dict[str, int] = {}
        self.item_node: dict[int, str] = {}
        self.port_item: dict[PortRef, int] = {}
        self.item_port: dict[int, PortRef] = {}
        self.wire_item: dict[Wire, int] = {}
        self.item_wire: dict[int, Wire] = {}

    def add_node(self, node_id: str, item: int) -> None:
        self.node_item[node_id] = item
        self.item_node[item] = node_id

    def add_port(self, ref: PortRef, item: int) -> None:
        self.port_item[ref] = item
        self.item_port[item] = ref

    def add_wire(self, wire: Wire, item: int) -> None:
        self.wire_item[wire] = item
        self.item_wire[item] = wire

    def drop_node(self, node_id: str) -> list[int]:
        """Forget a node and its ports; returns the node's item id (in a list, empty if none)."""
        item = self.node_item.pop(node_id, None)
        if item is None:
            return []
        del self.item_node[item]
        for ref in [r for r in self.port_item if r.node == node_id]:
            del self.item_port[self.port_item.pop(ref)]
        return [item]

    def drop_wire(self, wire: Wire) -> int | None:
        """Forget a wire; returns its link item id (None if it had none)."""
        item = self.wire_item.pop(wire, None)
        if item is not None:
            del self.item_wire[item]
        return item

    def wire_between(self, item_a: int, item_b: int) -> Wire | None:
        """The wire a user drew between two attribute items (either order); None if not one."""
        a, b = self.item_port.get(item_a), self.item_port.get(item_b)
        if a is None or b is None or a.output == b.output:
            return None
        out, inp = (a, b) if a.output else (b, a)
        return out.node, out.port, inp.node, inp.port

    def nodes_of(self, items: list[int]) -> list[str]:
        """Node ids for node items (unknown items are skipped)."""
        return [self.item_node[i] for i in items if i in self.item_node]

    def wires_of(self, items: list[int]) -> list[Wire]:
        """Wires for link items (unknown items are skipped)."""
        return [self.item_wire[i] for i in items if i in self.item_wire]

    def wires_touching(self, node_id: str) -> list[Wire]:
        return [w for w in self.wire_item if node_id in (w[0], w[2])]
