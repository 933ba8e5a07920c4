"""Dense layers: ``Gemm`` -> Linear; ``MatMul`` by a constant matrix -> Linear without bias, or
with the bias of the ``Add`` that follows it (how torch exports a Linear on 3-D inputs), or, by
the table of a token embedding, TiedLinear (a language-model head tied to it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from designer.interop.onnx_import.context import Context, Node, Unsupported, weight_layer
from designer.interop.onnx_import.registry import converter
from designer.interop.onnx_import.values import Const, Deferred, Tensor, Value


@dataclass(eq=False)
class Product(Deferred):
    """``x @ weight.T`` before a bias, if any, is added."""

    x: Tensor = None  # type: ignore[assignment]
    weight: np.ndarray = None  # type: ignore[assignment]
    hint: str | None = None

    def linear(self, ctx: Context, bias: np.ndarray | None, origin: Node) -> Tensor:
        params = {"out_features": self.weight.shape[0], "bias": bias is not None}
        weights = {"weight": self.weight}
        if bias is not None:
            weights["bias"] = bias
        return ctx.emit("Linear", params, [self.x], origin, weights, self.hint)

    def make(self, ctx: Context) -> Tensor:
        return self.linear(ctx, None, self.origin)


def _bias_vector(value: Value | None, features: int) -> np.ndarray | None:
    """A constant that adds the same vector to every row, as that vector."""
    if not isinstance(value, Const) or value.array.size != features:
        return None
    if value.array.ndim > 1 and value.array.shape[-1] != features:
        return None
    return value.array.reshape(features)


def linear_with_bias(node: Node, ctx: Context) -> Tensor | None:
    """``Add(MatMul(x, W), b)`` as one Linear, or None when the Add is something else."""
    if len(node.inputs) != 2:
        return None
    for product, other in (node.inputs, reversed(node.inputs)):
        if isinstance(product, Product):
            bias = _bias_vector(other, product.weight.shape[0])
            if bias is not None:
                return product.linear(ctx, bias, node)
    return None


@converter("MatMul", since=1)
def matmul(node: Node, ctx: Context) -> Value:
    a, b = node.inputs
    if not isinstance(b, Const) or b.array.ndim != 2:
        what = "two computed tensors" if not isinstance(b, Const) else "a batch of matrices"
        raise Unsupported(f"multiplies {what}; only a product by a constant matrix (Linear)")
    x = ctx.tensor(a)
    tied = ctx.tied(b.array.T)
    if tied is not None:
        return ctx.emit("TiedLinear", {}, [x, tied], node)
    return Product(node, x=x, weight=b.array.T.copy(), hint=weight_layer(b))


@converter("Gemm", since=1)
def gemm(node: Node, ctx: Context) -> Tensor:
    x = ctx.tensor(node.input(0))
    if node.attrs.get("transA", 0):
        raise Unsupported("transA=1 transposes the input; no block does")
    matrix = ctx.const(node.input(1), "weights")
    weight = matrix if node.attrs.get("transB", 0) else matrix.T
    weight = weight * np.float32(node.attrs.get("alpha", 1.0))
    c = node.input(2)
    bias = None
    if c is not None:
        bias = _bias_vector(c, weight.shape[0])
        if bias is None:
            raise Unsupported(f"its C input {ctx.const(c, 'bias').shape} is no bias vector")
        bias = bias * np.float32(node.attrs.get("beta", 1.0))
    product = Product(node, x=x, weight=np.ascontiguousarray(weight, dtype=np.float32))
    product.hint = weight_layer(node.input(1))
    return product.linear(ctx, bias, node)
