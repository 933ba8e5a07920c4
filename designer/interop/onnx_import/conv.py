"""``Conv`` and ``ConvTranspose`` -> Conv1d/2d/3d and ConvTranspose1d/2d/3d, the weights (and bias)
from the initializers. Symmetric pads are ``padding``; torch's ``padding="same"`` (the odd element
after) and ``auto_pad`` are recognised; a ``Pad`` just before is folded into ``padding`` and
``padding_mode``. A transposed convolution's crops (its pads, or what ``output_shape`` implies)
become ``padding`` and ``output_padding``, as torch crops the same from both ends and gives some
back at the end."""

from __future__ import annotations

import math

import numpy as np

from designer.interop.onnx_import.context import (
    Context,
    Node,
    Unsupported,
    spatial_pairs,
    weight_layer,
)
from designer.interop.onnx_import.pad import PADDING_MODES, Padded
from designer.interop.onnx_import.registry import converter
from designer.interop.onnx_import.values import Tensor


def window(node: Node, kernel: tuple[int, ...]) -> tuple[tuple, tuple]:
    """Strides and dilations (default 1 each)."""
    n = len(kernel)
    strides = tuple(node.attrs.get("strides", (1,) * n))
    dilations = tuple(node.attrs.get("dilations", (1,) * n))
    return strides, dilations


def pad_pairs(node: Node, sizes: tuple, kernel: tuple, strides: tuple, dilations: tuple) -> list:
    """(begin, end) per spatial axis, ``auto_pad`` worked out for these input sizes."""
    auto = node.attrs.get("auto_pad", "NOTSET")
    n = len(kernel)
    if auto == "VALID":
        return [(0, 0)] * n
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        return spatial_pairs(node.attrs.get("pads", ()), n)
    pairs = []
    for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        total = max(0, (math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        pairs.append((small, large) if auto == "SAME_UPPER" else (large, small))
    return pairs


def symmetric_padding(pairs: list, kernel: tuple, strides: tuple, dilations: tuple):
    """``padding`` of a torch convolution: one amount per axis, or ``"same"``."""
    if all(b == e for b, e in pairs):
        return tuple(b for b, _ in pairs)
    same = [
        (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
        for k, d in zip(kernel, dilations, strict=True)
    ]
    if all(s == 1 for s in strides) and list(pairs) == same:
        return "same"
    raise Unsupported(f"pads {[list(p) for p in pairs]} differ before and after; torch pads alike")


def _absorb_pad(value, pairs: list) -> tuple[object, list, str]:
    """A Pad feeding the convolution, folded into its pads: (input, pads, padding_mode)."""
    if not isinstance(value, Padded):
        return value, pairs, "zeros"
    amounts = value.symmetric()
    if amounts is None:
        return value, pairs, "zeros"
    if value.zeros:
        return value.x, [(b + a, e + a) for (b, e), a in zip(pairs, amounts, strict=True)], "zeros"
    if value.mode in PADDING_MODES and all(p == (0, 0) for p in pairs):
        return value.x, [(a, a) for a in amounts], PADDING_MODES[value.mode]
    return value, pairs, "zeros"


def _weights(node: Node, ctx: Context) -> tuple[np.ndarray, np.ndarray | None]:
    weight = ctx.const(node.input(1), "weights")
    bias = ctx.optional_const(node.input(2), "bias")
    if not 3 <= weight.ndim <= 5:
        raise Unsupported(f"{weight.ndim - 2}-D convolution: Conv1d, 2d and 3d only")
    return weight, bias


@converter("Conv", since=1)
def conv(node: Node, ctx: Context) -> Tensor:
    weight, bias = _weights(node, ctx)
    kernel = tuple(weight.shape[2:])
    strides, dilations = window(node, kernel)
    x = node.input(0)
    x = x if isinstance(x, Padded) else ctx.tensor(x)
    pairs = pad_pairs(node, x.shape[2:], kernel, strides, dilations)
    x, pairs, mode = _absorb_pad(x, pairs)
    params = {
        "out_channels": weight.shape[0],
        "kernel_size": kernel,
        "stride": strides,
        "padding": symmetric_padding(pairs, kernel, strides, dilations),
        "dilation": dilations,
        "groups": node.attrs.get("group", 1),
        "bias": bias is not None,
        "padding_mode": mode,
    }
    weights = {"weight": weight} if bias is None else {"weight": weight, "bias": bias}
    hint = weight_layer(node.input(1))
    return ctx.emit(f"Conv{len(kernel)}d", params, [ctx.tensor(x)], node, weights, hint)


def _transposed_size(node: Node, x: Tensor, strides: tuple) -> tuple:
    """The output size asked for: ``output_shape``, or (``auto_pad`` SAME) input times stride."""
    wanted = node.attrs.get("output_shape")
    if wanted is not None:
        return tuple(wanted)[-len(strides) :]
    return tuple(d * s for d, s in zip(x.shape[2:], strides, strict=True))


def _transposed_pairs(node: Node, x: Tensor, kernel, strides, dilations, extra) -> list:
    """(begin, end) crops of the full transposed output, ``output_shape`` worked out."""
    auto = node.attrs.get("auto_pad", "NOTSET")
    if "output_shape" not in node.attrs and auto not in ("SAME_UPPER", "SAME_LOWER"):
        return pad_pairs(node, x.shape[2:], kernel, strides, dilations)
    wanted = _transposed_size(node, x, strides)
    pairs = []
    for i, (size, out) in enumerate(zip(x.shape[2:], wanted, strict=True)):
        full = strides[i] * (size - 1) + extra[i] + (kernel[i] - 1) * dilations[i] + 1
        small, large = (full - out) // 2, (full - out) - (full - out) // 2
        pairs.append((small, large) if auto == "SAME_UPPER" else (large, small))
    return pairs


def _torch_padding(pairs: list, extra: tuple) -> tuple[tuple, tuple]:
    """torch crops ``padding`` from both ends, then gives back ``output_padding`` at the end."""
    if any(b < e - x for (b, e), x in zip(pairs, extra, strict=True)):
        raise Unsupported(f"pads {[list(p) for p in pairs]} crop more at the end than the start")
    padding = tuple(b for b, _ in pairs)
    return padding, tuple(x + b - e for (b, e), x in zip(pairs, extra, strict=True))


@converter("ConvTranspose", since=1)
def conv_transpose(node: Node, ctx: Context) -> Tensor:
    weight, bias = _weights(node, ctx)
    kernel = tuple(weight.shape[2:])
    strides, dilations = window(node, kernel)
    x = ctx.tensor(node.input(0))
    extra = tuple(node.attrs.get("output_padding", (0,) * len(kernel)))
    pairs = _transposed_pairs(node, x, kernel, strides, dilations, extra)
    padding, output_padding = _torch_padding(pairs, extra)
    groups = node.attrs.get("group", 1)
    params = {
        "out_channels": weight.shape[1] * groups,
        "kernel_size": kernel,
        "stride": strides,
        "padding": padding,
        "output_padding": output_padding,
        "dilation": dilations,
        "groups": groups,
        "bias": bias is not None,
    }
    weights = {"weight": weight} if bias is None else {"weight": weight, "bias": bias}
    hint = weight_layer(node.input(1))
    return ctx.emit(f"ConvTranspose{len(kernel)}d", params, [x], node, weights, hint)
