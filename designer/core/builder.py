"""Build designs in code::

b = DesignBuilder("tiny")
x = b.input((3, 32, 32))
h = b.add("Conv2d", x, out_channels=16, node_id="conv")
b.output(b.add("ReLU", h))
design = b.build()
"""

from __future__ import annotations

from typing import Any, NamedTuple

from designer.core.graph import Design
from designer.core.layout import auto_layout


class Port(NamedTuple):
    """An output port of a node, to wire into later blocks."""

    node: str
    port: str


class DesignBuilder:
    """A small fluent API over :class:`Design` that wires inputs by port order."""

    def __init__(self, name: str = "untitled") -> None:
        self.design = Design(name)

    def input(
        self, shape: tuple[int, ...], *, node_id: str = "x", label: str | None = None
    ) -> Port:
        """An Input of one sample's shape (batch excluded)."""
        self.design.add_node("Input", {"shape": list(shape)}, node_id=node_id, label=label)
        return Port(node_id, "out")

    def add(
        self,
        block_type: str,
        *inputs: Port,
        node_id: str | None = None,
        label: str | None = None,
        **params: Any,
    ) -> Port:
        """Add a block fed by ``inputs`` in port order; returns its first output."""
        node_id = self.design.add_node(block_type, params, node_id=node_id, label=label)
        spec = self.design.spec(block_type)
        ports = spec.input_ports(len(inputs) - 1) if spec.variadic else spec.inputs
        if len(inputs) > len(ports):
            raise ValueError(f"{block_type} takes {len(ports)} inputs, got {len(inputs)}")
        for source, port in zip(inputs, ports, strict=False):
            self.design.connect(source.node, source.port, node_id, port)
        return Port(node_id, spec.outputs[0]) if spec.outputs else Port(node_id, "")

    def port(self, node_id: str, name: str) -> Port:
        """Another output port of a multi-output block."""
        return Port(node_id, name)

    def output(self, source: Port, *, node_id: str = "y", label: str | None = None) -> str:
        """An Output fed by ``source``."""
        self.add("Output", source, node_id=node_id, label=label)
        return node_id

    def build(self) -> Design:
        """The design, laid out left to right."""
        auto_layout(self.design)
        return self.design
