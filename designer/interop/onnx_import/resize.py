"""``Resize`` (opset 10+) and ``Upsample`` (opsets 7-9) -> Upsample.

torch's modes map one to one: nearest is ``asymmetric`` coordinates rounded down; linear,
bilinear and trilinear are ``linear`` with ``align_corners`` or ``half_pixel`` coordinates;
bicubic is ``cubic`` with coefficient -0.75. Equal scales (or output sizes that are the input's
times one whole number) become ``scale_factor``, so the design keeps working at other sizes;
other sizes become ``size``."""

from __future__ import annotations

import numpy as np

from designer.interop.onnx_import.context import Context, Node, Unsupported, f32
from designer.interop.onnx_import.fold import sizes
from designer.interop.onnx_import.registry import converter
from designer.interop.onnx_import.values import Tensor

_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}
_HALF_PIXEL = ("half_pixel", "pytorch_half_pixel")


def _mode(node: Node, n: int) -> dict:
    """``mode`` and ``align_corners`` of the Upsample block."""
    mode = node.attrs.get("mode", "nearest")
    coordinates = node.attrs.get("coordinate_transformation_mode", "half_pixel")
    if node.attrs.get("antialias", 0) or node.attrs.get("exclude_outside", 0):
        raise Unsupported("antialias and exclude_outside have no torch counterpart")
    if mode == "nearest":
        rounding = node.attrs.get("nearest_mode", "round_prefer_floor")
        if node.opset >= 11 and (coordinates, rounding) != ("asymmetric", "floor"):
            raise Unsupported(
                f"nearest with {coordinates} coordinates rounded {rounding}: torch's nearest "
                "is asymmetric, rounded down"
            )
        return {"mode": "nearest"}
    if node.opset < 11:
        coordinates = "asymmetric"
    aligned = coordinates == "align_corners"
    if not aligned and coordinates not in _HALF_PIXEL:
        raise Unsupported(f"{mode} with {coordinates} coordinates: torch has no such resize")
    if mode == "linear" and n in _LINEAR:
        return {"mode": _LINEAR[n], "align_corners": aligned}
    if mode == "cubic" and n == 2 and abs(node.attrs.get("cubic_coeff_a", -0.75) + 0.75) < 1e-6:
        return {"mode": "bicubic", "align_corners": aligned}
    raise Unsupported(f"{mode} resize of {n} spatial axes: torch has no such mode")


def _whole_factor(before: tuple, after: tuple) -> int | None:
    factors = {a // b for a, b in zip(after, before, strict=True) if b and a % b == 0}
    if len(factors) == 1 and all(a % b == 0 for a, b in zip(after, before, strict=True)):
        return factors.pop()
    return None


def _size(x: Tensor, ctx: Context, scales: np.ndarray | None, target: np.ndarray | None) -> dict:
    before = tuple(int(d) for d in sizes(x, ctx.batch))
    if scales is not None and scales.size:
        scales = [f32(s) for s in scales.reshape(-1)]
        if scales[:2] != [1.0, 1.0]:
            raise Unsupported(f"scales {scales} resize the batch or channels")
        if len(set(scales[2:])) == 1:
            return {"scale_factor": scales[2], "size": None}
        after = [d * s for d, s in zip(before[2:], scales[2:], strict=True)]
        if any(a != int(a) for a in after):
            raise Unsupported(f"scales {scales} differ by axis and give no whole sizes")
        return {"scale_factor": None, "size": tuple(int(a) for a in after)}
    if target is None or not target.size:
        raise Unsupported("neither scales nor sizes are given")
    after = tuple(int(d) for d in target.reshape(-1))
    if after[:2] != before[:2]:
        raise Unsupported(f"resizes the batch or channels ({before} to {after})")
    factor = _whole_factor(before[2:], after[2:])
    if factor is not None:
        return {"scale_factor": float(factor), "size": None}
    return {"scale_factor": None, "size": after[2:]}


def _upsample(node: Node, ctx: Context, scales, target) -> Tensor:
    x = ctx.tensor(node.input(0))
    if not 3 <= x.rank <= 5:
        raise Unsupported(f"resizes a {x.rank}-D tensor")
    params = {**_mode(node, x.rank - 2), **_size(x, ctx, scales, target)}
    return ctx.emit("Upsample", params, [x], node)


@converter("Resize", since=10, until=10)
def resize_10(node: Node, ctx: Context) -> Tensor:
    return _upsample(node, ctx, ctx.const(node.input(1), "scales"), None)


@converter("Resize", since=11)
def resize(node: Node, ctx: Context) -> Tensor:
    scales = ctx.optional_const(node.input(2), "scales")
    target = ctx.optional_const(node.input(3), "sizes")
    if node.input(3) is not None and node.attrs.get("axes") is not None:
        raise Unsupported("sizes for some axes only")
    return _upsample(node, ctx, scales, target)


@converter("Upsample", since=7, until=9)
def upsample(node: Node, ctx: Context) -> Tensor:
    if "scales" in node.attrs:
        scales = np.array(node.attrs["scales"], dtype=np.float32)
    else:
        scales = ctx.const(node.input(1), "scales")
    return _upsample(node, ctx, scales, None)
