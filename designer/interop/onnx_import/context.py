"""What a converter works with: the node (:class:`Node`), the converting :class:`Context` that
makes blocks (:meth:`Context.emit`) and hands out inputs as tensors or constants, and
:class:`Unsupported`, the one exception a converter raises for what no block expresses."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from onnx import NodeProto, helper

from designer.core.registry import REGISTRY
from designer.core.shapes import ShapeError
from designer.core.tensor import TensorSpec
from designer.interop.importer.mapped import clean_params
from designer.interop.importer.modules import Unsupported as ParamsRefused
from designer.interop.onnx_import.values import (
    Const,
    Deferred,
    Tensor,
    Value,
    describe,
)


class Unsupported(ValueError):
    """No block expresses this; ``node`` is the node to blame when it is not the one converted
    (a deferred value that no consumer could absorb)."""

    def __init__(self, reason: str, node: Node | None = None) -> None:
        super().__init__(reason)
        self.node = node


@dataclass(eq=False)
class Node:
    """One ONNX node with its inputs as converted values (None for an omitted optional one)."""

    proto: NodeProto
    opset: int
    inputs: list[Value | None]
    index: int

    @property
    def name(self) -> str:
        return self.proto.name or f"{self.op_type}_{self.index}"

    @property
    def op_type(self) -> str:
        return self.proto.op_type

    @property
    def label(self) -> str:
        """``Conv `name` (opset 20)``: how messages name the node."""
        return f"{self.op_type} `{self.name}`"

    @cached_property
    def attrs(self) -> dict[str, Any]:
        return {a.name: _attribute(a) for a in self.proto.attribute}

    def input(self, i: int) -> Value | None:
        return self.inputs[i] if i < len(self.inputs) else None


def _attribute(attribute) -> Any:
    value = helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value)
    return value


@dataclass
class Made:
    """A block of the flat design, before it is cut into composite blocks."""

    id: str
    block: str
    params: dict[str, Any]
    inputs: list[Tensor]
    origin: Node
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    layer_hint: str | None = None  # module path read off its weight's initializer name


class Context:
    """Collects the blocks made while the nodes are converted, in data-flow order."""

    def __init__(self, batch: int, shared: frozenset[str] = frozenset()) -> None:
        self.batch = batch  # the example batch size, for sizes computed from shapes
        self.ops: list[Made] = []
        self.shared = shared  # initializers that several nodes read (a tied embedding)
        self.tables: dict[str, tuple[np.ndarray, Tensor]] = {}  # shared tables as Parameters

    def tied(self, weight: np.ndarray) -> Tensor | None:
        """The Parameter of a shared table equal to ``weight`` (a head tied to an embedding)."""
        for array, tensor in self.tables.values():
            if array.shape == weight.shape and np.array_equal(array, weight):
                return tensor
        return None

    # -- inputs ------------------------------------------------------------------------------

    def tensor(self, value: Value | None, what: str = "input") -> Tensor:
        """``value`` as a block output: a deferred value is made into one now."""
        if isinstance(value, Tensor):
            return value
        if isinstance(value, Deferred):
            return value.materialize(self)
        raise Unsupported(f"its {what} is {describe(value)} where a computed tensor is expected")

    def const(self, value: Value | None, what: str) -> np.ndarray:
        """``value`` as a constant array (weights, sizes, axes)."""
        if isinstance(value, Const):
            return value.array
        raise Unsupported(f"its {what} is computed at run time; only constant {what} convert")

    def optional_const(self, value: Value | None, what: str) -> np.ndarray | None:
        return None if value is None else self.const(value, what)

    # -- blocks ------------------------------------------------------------------------------

    def emit(
        self,
        block: str,
        params: dict[str, Any],
        inputs: list[Tensor],
        origin: Node,
        weights: dict[str, np.ndarray] | None = None,
        layer_hint: str | None = None,
    ) -> Tensor:
        """Add ``block`` fed by ``inputs``; its output shape comes from the block's own rule."""
        try:
            values = clean_params(block, params)
        except ParamsRefused as exc:
            raise Unsupported(str(exc)) from None
        spec = REGISTRY.get(block)
        specs: list[TensorSpec | None] = [TensorSpec(t.shape, t.dtype) for t in inputs]
        if not spec.variadic:  # unwired optional ports
            specs += [None] * (len(spec.inputs) - len(specs))
        try:
            out = spec.infer(values, specs)
        except ShapeError as exc:
            raise Unsupported(f"{block} does not fit here: {exc}") from None
        first = out[0] if isinstance(out, list) else out  # several outputs: "out" is read
        made = Made(f"op{len(self.ops)}", block, values, list(inputs), origin, weights or {})
        made.layer_hint = layer_hint
        self.ops.append(made)
        return Tensor((made.id, "out"), tuple(first.shape), first.dtype)


def weight_layer(value: Value | None) -> str | None:
    """The module path in a weight's initializer name (``up1.up.weight`` -> ``up1.up``)."""
    name = value.source if isinstance(value, Const) else None
    if not name or "::" in name or "/" in name or "." not in name:
        return None
    return name.rsplit(".", 1)[0]


def spatial_pairs(pads: tuple | list, n: int) -> list[tuple[int, int]]:
    """ONNX pads ``[b1..bn, e1..en]`` as ``(begin, end)`` per axis."""
    pads = list(pads) or [0] * (2 * n)
    return list(zip(pads[:n], pads[n:], strict=True))


def f32(x: float) -> float:
    """A float32 attribute as the short decimal it was written as (0.2 not 0.20000000298)."""
    return float(str(np.float32(x)))
