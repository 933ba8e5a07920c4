"""Element-wise chains on one tensor, recognised as the activations they compute.

Exporters spell activations in pieces: SiLU as ``x * Sigmoid(x)``, GELU (before opset 20) as
``x * 0.5 * (1 + Erf(x / sqrt(2)))``, Mish as ``x * Tanh(Softplus(x))``, Hardswish as
``x * Clip(x + 3, 0, 6) / 6``. Rather than match each spelling, every element-wise op on one
tensor ``x`` (and scalar constants) is kept as an :class:`Elementwise` node of an expression
over ``x``. When a consumer needs a tensor, the expression is evaluated on sample points and
compared with each activation block's function. An expression that is no one activation is cut
where one sub-expression carries every use of ``x`` (GELU, then Mish of it): the part above the
cut must be an activation of the part below, which is made the same way. Failing that, an op
that is a block by itself (``Relu``, ``LeakyRelu``, an ``Add`` of two tensors) is made as one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from designer.interop.onnx_import.context import Context, Unsupported
from designer.interop.onnx_import.values import Const, Deferred, Tensor, Value

SAMPLES = np.concatenate([np.linspace(-8.0, 8.0, 321), [-1e-3, 1e-3, -0.3, 0.3]])
TOLERANCE = 1e-6

# (block, params, what torch computes), tried in this order
ACTIVATIONS: tuple[tuple[str, dict[str, Any], Callable], ...] = (
    ("ReLU", {}, F.relu),
    ("ReLU6", {}, F.relu6),
    ("SiLU", {}, F.silu),
    ("GELU", {}, F.gelu),
    ("GELU", {"approximate": "tanh"}, lambda t: F.gelu(t, approximate="tanh")),
    ("Mish", {}, F.mish),
    ("Hardswish", {}, F.hardswish),
    ("Hardsigmoid", {}, F.hardsigmoid),
    ("Sigmoid", {}, torch.sigmoid),
    ("Tanh", {}, torch.tanh),
    ("ELU", {}, F.elu),
    ("LeakyReLU", {}, F.leaky_relu),
)
_REFERENCES: list[np.ndarray] = []


@dataclass(eq=False)
class Elementwise(Deferred):
    """``op(*operands)``: each operand is the tensor ``x``, another node over ``x``, or a scalar."""

    x: Tensor = None  # type: ignore[assignment]
    op: Callable = None  # type: ignore[assignment]
    operands: tuple = ()
    direct: tuple[str, dict] | None = None  # this op's block when it is an activation itself
    merge: str | None = None  # this op's merge block when it joins two tensors (Add, Mul)

    def evaluate(self, t: np.ndarray, cut: Elementwise | None = None) -> np.ndarray:
        """The expression at ``t`` (``cut``, when given, stands for ``t`` instead of ``x``)."""
        memo: dict[int, np.ndarray] = {}

        def value(v):
            if v is cut or isinstance(v, Tensor):
                return t
            if not isinstance(v, Elementwise):
                return v
            if id(v) not in memo:
                memo[id(v)] = v.op(*(value(o) for o in v.operands))
            return memo[id(v)]

        with np.errstate(all="ignore"):
            return value(self)

    def nodes(self) -> list[Elementwise]:
        """Every node of the expression, this one first, each once."""
        found: dict[int, Elementwise] = {}
        stack: list[Elementwise] = [self]
        while stack:
            node = stack.pop()
            if id(node) not in found:
                found[id(node)] = node
                stack += [o for o in node.operands if isinstance(o, Elementwise)]
        return list(found.values())

    def ops(self) -> str:
        return " -> ".join(n.origin.op_type for n in sorted(self.nodes(), key=_position))

    def make(self, ctx: Context) -> Tensor:
        if is_identity(self.evaluate(SAMPLES)):
            return self.x
        found = recognise(self.evaluate(SAMPLES))
        if found is not None:
            return ctx.emit(*found, [self.x], self.origin)
        for cut in self._cuts():
            found = recognise(self.evaluate(SAMPLES, cut))
            if found is not None:
                return ctx.emit(*found, [ctx.tensor(cut)], self.origin)
        if self.direct is not None:
            return ctx.emit(*self.direct, [ctx.tensor(self.operands[0])], self.origin)
        if self.merge is not None:
            return ctx.emit(self.merge, {}, [ctx.tensor(v) for v in self.operands], self.origin)
        raise Unsupported(self._refusal(), self.origin)

    def _cuts(self) -> list[Elementwise]:
        """Nodes every use of ``x`` goes through, the highest first."""
        inner = self.nodes()[1:]
        cuts = [n for n in inner if not self._reaches_x(avoiding=n)]
        return sorted(cuts, key=lambda n: -len(n.nodes()))

    def _reaches_x(self, avoiding: Elementwise) -> bool:
        stack, seen = [self], set()
        while stack:
            node = stack.pop()
            if node is avoiding or id(node) in seen:
                continue
            seen.add(id(node))
            for o in node.operands:
                if isinstance(o, Tensor):
                    return True
                if isinstance(o, Elementwise):
                    stack.append(o)
        return False

    def _refusal(self) -> str:
        if len(self.nodes()) == 1:
            return f"{self.origin.op_type} of a tensor and a scalar: no block computes it"
        return f"the element-wise chain {self.ops()} on one tensor is no activation a block has"


def _position(node: Elementwise) -> int:
    return node.origin.index


def _close(got: np.ndarray, want: np.ndarray) -> bool:
    got = np.broadcast_to(np.asarray(got, dtype=np.float64), want.shape)
    scale = max(1.0, float(np.abs(want).max()))
    return bool(np.all(np.isfinite(got))) and float(np.abs(got - want).max()) <= TOLERANCE * scale


def is_identity(values: np.ndarray) -> bool:
    return _close(values, SAMPLES)


def recognise(values: np.ndarray) -> tuple[str, dict] | None:
    """The activation block that gives ``values`` at the sample points, or None."""
    if not _REFERENCES:
        _REFERENCES.extend(f(torch.from_numpy(SAMPLES)).numpy() for _, _, f in ACTIVATIONS)
    for (block, params, _), want in zip(ACTIVATIONS, _REFERENCES, strict=True):
        if _close(values, want):
            return block, dict(params)
    return None


def _leaf(value: Value | None) -> Tensor | None:
    """The tensor a tensor or an expression is over."""
    if isinstance(value, Tensor):
        return value
    return value.x if isinstance(value, Elementwise) else None


def unary(
    node, ctx: Context, value: Value | None, np_fn: Callable, direct: tuple | None = None
) -> Elementwise:
    """``np_fn`` of a tensor or an expression (any other value is made a tensor first)."""
    if not isinstance(value, Elementwise):
        value = ctx.tensor(value)
    return Elementwise(node, x=_leaf(value), op=np_fn, operands=(value,), direct=direct)


def scalar(value: Value | None) -> float | None:
    return value.scalar if isinstance(value, Const) else None


def binary(node, a: Value | None, b: Value | None, np_fn: Callable, merge: str | None = None):
    """``np_fn(a, b)`` as an expression when both sides are over one tensor or scalars, and at
    least one side is not a plain tensor (``x + x`` is an Add block); otherwise None."""
    leaf_a, leaf_b = _leaf(a), _leaf(b)
    ca, cb = scalar(a), scalar(b)
    if leaf_a is not None and cb is not None:
        return Elementwise(node, x=leaf_a, op=np_fn, operands=(a, cb))
    if leaf_b is not None and ca is not None:
        return Elementwise(node, x=leaf_b, op=np_fn, operands=(ca, b))
    if leaf_a is None or leaf_a is not leaf_b:
        return None
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return None
    return Elementwise(node, x=leaf_a, op=np_fn, operands=(a, b), merge=merge)
