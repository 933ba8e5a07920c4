"""Activations: ``Relu``, ``LeakyRelu``, ``Elu``, ``Gelu``, ``Sigmoid``, ``Tanh``, ``HardSwish``,
``Mish``, ``HardSigmoid`` (torch's), ``Clip`` (ReLU6), ``Softmax``, ``LogSoftmax``; and the pieces
exporters build others from (``Erf``, ``Softplus``, ``HardSigmoid``, arithmetic with a scalar),
which :mod:`~designer.interop.onnx_import.elementwise` recognises as a whole."""

from __future__ import annotations

import math

import numpy as np

from designer.interop.onnx_import.context import Context, Node, Unsupported, f32
from designer.interop.onnx_import.elementwise import binary, scalar, unary
from designer.interop.onnx_import.registry import converter
from designer.interop.onnx_import.values import Tensor, Value

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def _gelu(t, approximate: str):
    if approximate == "tanh":
        return 0.5 * t * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (t + 0.044715 * t**3)))
    return 0.5 * t * (1.0 + _erf(t / math.sqrt(2.0)))


@converter("Relu", since=1)
def relu(node: Node, ctx: Context) -> Value:
    return unary(node, ctx, node.input(0), lambda t: np.maximum(t, 0.0), ("ReLU", {}))


@converter("LeakyRelu", since=1)
def leaky_relu(node: Node, ctx: Context) -> Value:
    alpha = f32(node.attrs.get("alpha", 0.01))
    fn = lambda t: np.where(t >= 0, t, alpha * t)  # noqa: E731
    return unary(node, ctx, node.input(0), fn, ("LeakyReLU", {"negative_slope": alpha}))


@converter("Elu", since=1)
def elu(node: Node, ctx: Context) -> Value:
    alpha = f32(node.attrs.get("alpha", 1.0))
    fn = lambda t: np.where(t > 0, t, alpha * np.expm1(np.minimum(t, 0)))  # noqa: E731
    return unary(node, ctx, node.input(0), fn, ("ELU", {"alpha": alpha}))


@converter("Gelu", since=20)
def gelu(node: Node, ctx: Context) -> Value:
    approximate = node.attrs.get("approximate", "none")
    params = {"approximate": approximate}
    return unary(node, ctx, node.input(0), lambda t: _gelu(t, approximate), ("GELU", params))


@converter("Sigmoid", since=1)
def sigmoid(node: Node, ctx: Context) -> Value:
    return unary(node, ctx, node.input(0), _sigmoid, ("Sigmoid", {}))


@converter("Tanh", since=1)
def tanh(node: Node, ctx: Context) -> Value:
    return unary(node, ctx, node.input(0), np.tanh, ("Tanh", {}))


@converter("HardSwish", since=14)
def hard_swish(node: Node, ctx: Context) -> Value:
    fn = lambda t: t * np.clip(t + 3.0, 0.0, 6.0) / 6.0  # noqa: E731
    return unary(node, ctx, node.input(0), fn, ("Hardswish", {}))


@converter("Mish", since=18)
def mish(node: Node, ctx: Context) -> Value:
    fn = lambda t: t * np.tanh(np.logaddexp(0.0, t))  # noqa: E731
    return unary(node, ctx, node.input(0), fn, ("Mish", {}))


@converter("HardSigmoid", since=1)
def hard_sigmoid(node: Node, ctx: Context) -> Value:
    alpha, beta = node.attrs.get("alpha", 0.2), node.attrs.get("beta", 0.5)
    torch_like = abs(alpha - 1 / 6) < 1e-7 and beta == 0.5  # how torch exports F.hardsigmoid
    direct = ("Hardsigmoid", {}) if torch_like else None
    fn = lambda t: np.clip(alpha * t + beta, 0.0, 1.0)  # noqa: E731
    return unary(node, ctx, node.input(0), fn, direct)


@converter("Softplus", since=1)
def softplus(node: Node, ctx: Context) -> Value:
    return unary(node, ctx, node.input(0), lambda t: np.logaddexp(0.0, t))


@converter("Erf", since=9)
def erf(node: Node, ctx: Context) -> Value:
    return unary(node, ctx, node.input(0), _erf)


def _clip_direct(low: float | None, high: float | None) -> tuple[str, dict] | None:
    if low == 0 and high == 6:
        return "ReLU6", {}
    if low == 0 and high is None:
        return "ReLU", {}
    return None


def _clip(node: Node, ctx: Context, low: float | None, high: float | None) -> Value:
    lo = -np.inf if low is None else low
    hi = np.inf if high is None else high
    fn = lambda t: np.clip(t, lo, hi)  # noqa: E731
    return unary(node, ctx, node.input(0), fn, _clip_direct(low, high))


@converter("Clip", since=1, until=10)
def clip_attrs(node: Node, ctx: Context) -> Value:
    return _clip(node, ctx, node.attrs.get("min"), node.attrs.get("max"))


@converter("Clip", since=11)
def clip(node: Node, ctx: Context) -> Value:
    low, high = node.input(1), node.input(2)
    for bound in (low, high):
        if bound is not None and scalar(bound) is None:
            raise Unsupported("its bounds are not constants")
    return _clip(node, ctx, scalar(low), scalar(high))


_ARITHMETIC = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": np.divide,
    "Pow": np.power,
    "Max": np.maximum,
    "Min": np.minimum,
}


def arithmetic(node: Node, merge: str | None = None) -> Value | None:
    """A binary op as part of an element-wise chain, or None when it is none."""
    if len(node.inputs) != 2:
        return None
    a, b = node.inputs
    return binary(node, a, b, _ARITHMETIC[node.op_type], merge)


@converter("Sub", "Div", "Pow", "Max", "Min", since=1)
def scalar_arithmetic(node: Node, ctx: Context) -> Value:
    chained = arithmetic(node)
    if chained is None:
        raise Unsupported(
            f"{node.op_type} of {len(node.inputs)} computed tensors (or a constant tensor): "
            "no block does"
        )
    return chained


@converter("Neg", since=1)
def neg(node: Node, ctx: Context) -> Value:
    return unary(node, ctx, node.input(0), np.negative)


def _softmax(node: Node, ctx: Context, block: str, default_axis: int, flattens: bool) -> Tensor:
    x = ctx.tensor(node.input(0))
    axis = node.attrs.get("axis", default_axis) % x.rank
    if flattens and axis != x.rank - 1:
        raise Unsupported(
            f"before opset 13, {node.op_type} over axis {axis} of a {x.rank}-D tensor works on "
            "the flattened trailing axes; no block does"
        )
    return ctx.emit(block, {"dim": axis}, [x], node)


@converter("Softmax", since=1, until=12)
def softmax_flattening(node: Node, ctx: Context) -> Tensor:
    return _softmax(node, ctx, "Softmax", 1, flattens=True)


@converter("Softmax", since=13)
def softmax(node: Node, ctx: Context) -> Tensor:
    return _softmax(node, ctx, "Softmax", -1, flattens=False)


@converter("LogSoftmax", since=1, until=12)
def log_softmax_flattening(node: Node, ctx: Context) -> Tensor:
    return _softmax(node, ctx, "LogSoftmax", 1, flattens=True)


@converter("LogSoftmax", since=13)
def log_softmax(node: Node, ctx: Context) -> Tensor:
    return _softmax(node, ctx, "LogSoftmax", -1, flattens=False)
