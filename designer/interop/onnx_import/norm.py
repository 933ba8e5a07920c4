"""Normalisation: ``BatchNormalization`` -> BatchNorm1d/2d/3d (scale, bias, running statistics),
``InstanceNormalization`` -> InstanceNorm1d/2d/3d (affine), ``LayerNormalization`` -> LayerNorm,
``GroupNormalization`` (opset 21, per-channel scale) -> GroupNorm.

torch's exporter folds a batch norm that follows a convolution into it; the ones left (after an
``Add``, in a pre-activation block, on features) arrive here."""

from __future__ import annotations

import numpy as np

from designer.interop.onnx_import.context import Context, Node, Unsupported, f32, weight_layer
from designer.interop.onnx_import.registry import converter
from designer.interop.onnx_import.values import Tensor


def _spatial_rank(x: Tensor, what: str, lowest: int = 1) -> int:
    n = x.rank - 2
    if not lowest <= max(n, 1) <= 3:
        raise Unsupported(f"{what} of a {x.rank}-D tensor")
    return max(n, 1)


@converter("BatchNormalization", since=7)
def batch_norm(node: Node, ctx: Context) -> Tensor:
    x = ctx.tensor(node.input(0))
    if node.attrs.get("training_mode", 0):
        raise Unsupported("training_mode=1 normalises with the batch's statistics")
    scale, bias, mean, var = (
        ctx.const(node.input(i), what)
        for i, what in enumerate(("scale", "bias", "mean", "variance"), start=1)
    )
    n = _spatial_rank(x, "batch norm")
    params = {
        "eps": f32(node.attrs.get("epsilon", 1e-5)),
        "momentum": round(1.0 - float(node.attrs.get("momentum", 0.9)), 6),
    }
    weights = {
        "weight": scale,
        "bias": bias,
        "running_mean": mean,
        "running_var": var,
        "num_batches_tracked": np.array(0, dtype=np.int64),
    }
    hint = weight_layer(node.input(1))
    return ctx.emit(f"BatchNorm{n}d", params, [x], node, weights, hint)


@converter("InstanceNormalization", since=1)
def instance_norm(node: Node, ctx: Context) -> Tensor:
    x = ctx.tensor(node.input(0))
    if x.rank < 3:
        raise Unsupported(f"instance norm of a {x.rank}-D tensor")
    scale = ctx.const(node.input(1), "scale")
    bias = ctx.const(node.input(2), "bias")
    params = {"eps": f32(node.attrs.get("epsilon", 1e-5)), "affine": True}
    weights = {"weight": scale, "bias": bias}
    hint = weight_layer(node.input(1))
    n = _spatial_rank(x, "instance norm")
    return ctx.emit(f"InstanceNorm{n}d", params, [x], node, weights, hint)


@converter("LayerNormalization", since=17)
def layer_norm(node: Node, ctx: Context) -> Tensor:
    x = ctx.tensor(node.input(0))
    axis = node.attrs.get("axis", -1) % x.rank
    if axis == 0:
        raise Unsupported("layer norm over the batch axis")
    shape = tuple(x.shape[axis:])
    scale = ctx.const(node.input(1), "scale")
    bias = ctx.optional_const(node.input(2), "bias")
    params = {
        "dims": x.rank - axis,
        "eps": f32(node.attrs.get("epsilon", 1e-5)),
        "elementwise_affine": True,
        "bias": bias is not None,
    }
    weights = {"weight": np.broadcast_to(scale, shape).copy()}
    if bias is not None:
        weights["bias"] = np.broadcast_to(bias, shape).copy()
    return ctx.emit("LayerNorm", params, [x], node, weights, weight_layer(node.input(1)))


@converter("GroupNormalization", since=21)
def group_norm(node: Node, ctx: Context) -> Tensor:
    x = ctx.tensor(node.input(0))
    scale = ctx.const(node.input(1), "scale")
    bias = ctx.const(node.input(2), "bias")
    if node.attrs.get("stash_type", 1) != 1:
        raise Unsupported("stash_type other than float32")
    params = {"num_groups": node.attrs["num_groups"], "eps": f32(node.attrs.get("epsilon", 1e-5))}
    weights = {"weight": scale, "bias": bias}
    return ctx.emit("GroupNorm", params, [x], node, weights, weight_layer(node.input(1)))
