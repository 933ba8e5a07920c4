"""Pooling: ``MaxPool``, ``AveragePool`` -> MaxPool/AvgPool 1d-3d; ``GlobalAveragePool`` and
``ReduceMean`` over every spatial axis -> AdaptiveAvgPool(1); ``GlobalMaxPool`` and ``ReduceMax``
likewise -> AdaptiveMaxPool2d(1) (a ``Flatten`` after when the reduction drops the axes)."""

from __future__ import annotations

from designer.interop.onnx_import.context import Context, Node, Unsupported
from designer.interop.onnx_import.conv import pad_pairs, window
from designer.interop.onnx_import.registry import converter
from designer.interop.onnx_import.values import Tensor


def _window(node: Node, x: Tensor) -> dict:
    kernel = tuple(node.attrs["kernel_shape"])
    if len(kernel) != x.rank - 2 or not 1 <= len(kernel) <= 3:
        raise Unsupported(f"a {len(kernel)}-D window on a {x.rank}-D tensor")
    strides, dilations = window(node, kernel)
    pairs = pad_pairs(node, x.shape[2:], kernel, strides, dilations)
    if any(b != e for b, e in pairs):
        raise Unsupported(f"pads {[list(p) for p in pairs]} differ before and after")
    return {
        "kernel_size": kernel,
        "stride": strides,
        "padding": tuple(b for b, _ in pairs),
        "ceil_mode": bool(node.attrs.get("ceil_mode", 0)),
        "dilation": dilations,
    }


@converter("MaxPool", since=1)
def max_pool(node: Node, ctx: Context) -> Tensor:
    x = ctx.tensor(node.input(0))
    params = _window(node, x)
    if node.attrs.get("storage_order", 0):
        raise Unsupported("storage_order 1 (column-major indices)")
    return ctx.emit(f"MaxPool{x.rank - 2}d", params, [x], node)


@converter("AveragePool", since=1)
def average_pool(node: Node, ctx: Context) -> Tensor:
    x = ctx.tensor(node.input(0))
    params = _window(node, x)
    if any(d != 1 for d in params.pop("dilation")):
        raise Unsupported("dilated average pooling: AvgPool has no dilation")
    padded = any(p for p in params["padding"])
    params["count_include_pad"] = bool(node.attrs.get("count_include_pad", 0)) or not padded
    return ctx.emit(f"AvgPool{x.rank - 2}d", params, [x], node)


def _global(block: str, node: Node, ctx: Context, x: Tensor, keep: bool = True) -> Tensor:
    n = x.rank - 2
    if block == "AdaptiveMaxPool" and n != 2:
        raise Unsupported(f"global max pooling of a {x.rank}-D tensor: AdaptiveMaxPool2d only")
    if not 1 <= n <= 3:
        raise Unsupported(f"global pooling of a {x.rank}-D tensor")
    pooled = ctx.emit(f"{block}{n}d", {"output_size": 1}, [x], node)
    return pooled if keep else ctx.emit("Flatten", {"start_dim": 1}, [pooled], node)


@converter("GlobalAveragePool", since=1)
def global_average_pool(node: Node, ctx: Context) -> Tensor:
    return _global("AdaptiveAvgPool", node, ctx, ctx.tensor(node.input(0)))


@converter("GlobalMaxPool", since=1)
def global_max_pool(node: Node, ctx: Context) -> Tensor:
    return _global("AdaptiveMaxPool", node, ctx, ctx.tensor(node.input(0)))


def _reduce(block: str, node: Node, ctx: Context, axes) -> Tensor:
    x = ctx.tensor(node.input(0))
    spatial = set(range(2, x.rank))
    if axes is None or {int(a) % x.rank for a in axes} != spatial:
        raise Unsupported(
            f"reduces axes {None if axes is None else list(axes)} of a {x.rank}-D tensor; "
            "only a reduction over every spatial axis (global pooling) converts"
        )
    return _global(block, node, ctx, x, keep=bool(node.attrs.get("keepdims", 1)))


def _axes_input(node: Node, ctx: Context):
    axes = ctx.optional_const(node.input(1), "axes")
    return None if axes is None else axes.reshape(-1).tolist()


@converter("ReduceMean", since=1, until=17)
def reduce_mean_attr(node: Node, ctx: Context) -> Tensor:
    return _reduce("AdaptiveAvgPool", node, ctx, node.attrs.get("axes"))


@converter("ReduceMean", since=18)
def reduce_mean(node: Node, ctx: Context) -> Tensor:
    return _reduce("AdaptiveAvgPool", node, ctx, _axes_input(node, ctx))


@converter("ReduceMax", since=1, until=17)
def reduce_max_attr(node: Node, ctx: Context) -> Tensor:
    return _reduce("AdaptiveMaxPool", node, ctx, node.attrs.get("axes"))


@converter("ReduceMax", since=18)
def reduce_max(node: Node, ctx: Context) -> Tensor:
    return _reduce("AdaptiveMaxPool", node, ctx, _axes_input(node, ctx))
