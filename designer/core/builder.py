"""Build designs in code::

b = DesignBuilder("tiny")
x = b.input((3, 32, 32))
h = b.add("Conv2d", x, out_channels=16, node_id="conv")
b.output(b.add("ReLU", h))
design = b.build()

A block made of blocks is built the same way and defined in the design; its nodes' parameters may
be expressions of the block's parameters (``expr("out_channels")``) and a node may exist only
``when`` a condition holds::

body = b.body("Unit")
h = body.add("Conv2d", body.input(), out_channels=expr("width"), kernel_size=3, padding=1)
body.output(body.add("BatchNorm2d", h, when="use_bn"))
b.define("Unit", body, params=(Int("width", 16, "Channels."), Bool("use_bn", True, "Norm.")))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from designer.core.composite import CompositeDef
from designer.core.graph import Design
from designer.core.layout import auto_layout
from designer.core.params import Param


def expr(text: str) -> dict[str, str]:
    """A parameter value computed from the enclosing block's parameters: ``expr("2 * width")``."""
    return {"expr": text}


class Port(NamedTuple):
    """An output port of a node, to wire into later blocks."""

    node: str
    port: str


class DesignBuilder:
    """A small fluent API over :class:`Design` that wires inputs by port order."""

    def __init__(self, name: str = "untitled") -> None:
        self.design = Design(name)

    def input(
        self,
        shape: tuple[int | str, ...] | None = None,
        *,
        node_id: str = "x",
        label: str | None = None,
        dtype: str | None = None,
    ) -> Port:
        """An Input of one sample's shape (batch excluded; names for sizes that vary) and dtype
        (float32 by default; int64 for token ids). A block body's inputs take no shape."""
        params: dict[str, Any] = {} if shape is None else {"shape": list(shape)}
        if dtype is not None:
            params["dtype"] = dtype
        self.design.add_node("Input", params, node_id=node_id, label=label)
        return Port(node_id, "out")

    def add(
        self,
        block_type: str,
        *inputs: Port,
        node_id: str | None = None,
        label: str | None = None,
        when: str | None = None,
        repeat: int | str | None = None,
        **params: Any,
    ) -> Port:
        """Add a block fed by ``inputs`` in port order; returns its first output. ``when`` makes
        the node conditional (in a block body: while false, its first input flows on);
        ``repeat`` runs it that many times in sequence."""
        node_id = self.design.add_node(
            block_type, params, node_id=node_id, label=label, when=when, repeat=repeat
        )
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

    def body(self, name: str) -> DesignBuilder:
        """A builder for the body of a block type ``name`` to :meth:`define`, which may use the
        block types this design defines."""
        builder = DesignBuilder(name)
        builder.design.blocks = self.design.blocks
        return builder

    def define(
        self,
        name: str,
        body: DesignBuilder,
        *,
        params: Sequence[Param] = (),
        doc: str = "",
        category: str = "Blocks",
    ) -> str:
        """Define a block type of this design from ``body`` (its Inputs and Outputs are the
        block's ports); later ``add(name, ...)`` calls use it. Returns ``name``."""
        design = body.build()
        design.name = name
        design.blocks = self.design.blocks
        self.design.blocks[name] = CompositeDef(name, design, tuple(params), category, doc)
        return name

    def build(self) -> Design:
        """The design, laid out left to right."""
        auto_layout(self.design)
        return self.design
