"""Resizing: Upsample by a scale factor or to a fixed size (nearest, linear family), and
ResizeLike to the spatial size of another tensor (segmentation heads)."""

from __future__ import annotations

import math

from designer.core.forms import Functional, TorchModule
from designer.core.params import Bool, Choice, Float, Ints
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError, format_shape

_MODE_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_INTERPOLATING = set(_MODE_RANK)


def _upsample_shape(p, shapes):
    (shape,) = shapes
    mode, rank = p["mode"], len(shape)
    if rank not in (3, 4, 5) or _MODE_RANK.get(mode, rank) != rank:
        want = f"{_MODE_RANK[mode]}-D" if mode in _MODE_RANK else "3-D, 4-D or 5-D"
        raise ShapeError(
            f"Upsample mode {mode!r} needs a {want} input, got {format_shape(shape)}",
            "pick the mode that fits the input rank (linear 3-D, bilinear 4-D, trilinear 5-D)",
            code="rank",
        )
    n = rank - 2
    if p["size"] is None and p["scale_factor"] is None:
        raise ShapeError("give a size or a scale_factor", "set one of them", code="param")
    if p["size"] is not None:
        size = p["size"]
        out = (size,) * n if isinstance(size, int) else tuple(size)
        if len(out) != n:
            raise ShapeError(
                f"size has {len(out)} values, the input has {n} spatial dimensions",
                f"give {n} values",
                code="param",
            )
    else:
        out = tuple(math.floor(d * p["scale_factor"]) for d in shape[2:])
    if min(out) < 1:
        raise ShapeError(
            f"the output would be {format_shape(out)}: "
            f"scale_factor {p['scale_factor']} is too small",
            "raise scale_factor or give a size",
            code="kernel",
        )
    return (*shape[:2], *out)


def _upsample_args(p, shapes):
    kw = {"size": p["size"]} if p["size"] is not None else {"scale_factor": p["scale_factor"]}
    kw["mode"] = p["mode"]
    if p["mode"] in _INTERPOLATING and p["align_corners"]:
        kw["align_corners"] = True
    return (), kw


register(
    BlockSpec(
        name="Upsample",
        category="Resize",
        doc="Resize by a scale factor or to a size: nearest or (bi/tri)linear interpolation.",
        params=(
            Float(
                "scale_factor",
                2.0,
                "Multiplier for every spatial size.",
                min=0.0,
                max=64.0,
                optional=True,
            ),
            Ints(
                "size",
                None,
                "Output spatial size; when set, scale_factor is ignored.",
                None,
                min=1,
                max=65536,
                optional=True,
            ),
            Choice(
                "mode",
                "nearest",
                "Interpolation algorithm.",
                ("nearest", "linear", "bilinear", "bicubic", "trilinear"),
            ),
            # scale_factor and size are alternatives: the shape rule asks for exactly one
            Bool("align_corners", False, "Align corner pixels (interpolating modes only)."),
        ),
        shape=_upsample_shape,
        torch=TorchModule("Upsample", _upsample_args),
    )
)


def _resize_like_shape(p, shapes):
    x, like = shapes
    mode, rank = p["mode"], len(x)
    if rank not in (3, 4, 5) or _MODE_RANK.get(mode, rank) != rank:
        want = f"{_MODE_RANK[mode]}-D" if mode in _MODE_RANK else "3-D, 4-D or 5-D"
        raise ShapeError(
            f"ResizeLike mode {mode!r} needs a {want} x, got {format_shape(x)}",
            "pick the mode that fits the input rank (linear 3-D, bilinear 4-D, trilinear 5-D)",
            port=0,
            code="rank",
        )
    if len(like) != rank:
        raise ShapeError(
            f"ResizeLike takes the spatial size of like, which is {format_shape(like)}: "
            f"it needs the rank of x, {format_shape(x)}",
            "wire a feature map of the same rank into like",
            port=1,
            code="rank",
        )
    return (*x[:2], *like[2:])


register(
    BlockSpec(
        name="ResizeLike",
        category="Resize",
        doc="Resize `x` to the spatial size of `like` (nearest or (bi/tri)linear interpolation).",
        params=(
            Choice(
                "mode",
                "nearest",
                "Interpolation algorithm.",
                ("nearest", "linear", "bilinear", "bicubic", "trilinear"),
            ),
            Bool("align_corners", False, "Align corner pixels (interpolating modes only)."),
        ),
        inputs=("x", "like"),
        shape=_resize_like_shape,
        functional=Functional("resize_like", keywords=("mode", "align_corners")),
    )
)
