"""Merging branches: Concat, Add, Multiply, and PadToMatch (the seed U-Net's size fix-up)."""

from __future__ import annotations

from designer.core.forms import Functional
from designer.core.params import Int
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError, format_shape

_AXIS_WORDS = {3: {2: "long"}, 4: {2: "high", 3: "wide"}, 5: {2: "deep", 3: "high", 4: "wide"}}


def _axis_word(rank: int, dim: int) -> str:
    """How a message names a dimension: channels of an image (N×C×...), else by number (a
    rank-3 tensor may be a sequence, N×T×D, as well as a signal)."""
    named = dim == 1 and rank != 3
    return _AXIS_WORDS.get(rank, {}).get(dim, "channels" if named else f"in dim {dim}")


def _size_hint(dim: int) -> str:
    if dim >= 2:
        return "insert PadToMatch or use an input size divisible by 16"
    return "make the branches agree on this dimension"


def _concat_shape(p, shapes):
    first = shapes[0]
    rank = len(first)
    if not -rank <= p["dim"] < rank:
        raise ShapeError(
            f"dim={p['dim']} is out of range for {rank}-D inputs",
            f"choose dim between {-rank} and {rank - 1}",
            code="rank",
        )
    dim = p["dim"] % rank
    if dim == 0:
        raise ShapeError(
            "joining along the batch dimension would change the batch size",
            "concatenate features along dim 1 (channels) or a later dimension",
            code="rank",
        )
    total = 0
    for i, shape in enumerate(shapes):
        if len(shape) != rank:
            raise ShapeError(
                f"input {i + 1} is {len(shape)}-D ({format_shape(shape)}), input 1 is {rank}-D",
                "concatenate tensors of the same rank",
                port=i,
                code="rank",
            )
        for axis, (a, b) in enumerate(zip(first, shape, strict=True)):
            if axis != dim and (a is None) != (b is None):
                varying = "the batch" if axis == 0 else "a size that varies"
                raise ShapeError(
                    f"input {i + 1} lines up {varying} with a fixed size of "
                    f"{a if b is None else b} (dimension {axis})",
                    "expand the fixed one to the batch first (ExpandBatch)"
                    if axis == 0
                    else "fix that size in the Input's shape",
                    port=i,
                    code="mismatch",
                )
            if axis != dim and a is not None and b is not None and a != b:
                raise ShapeError(
                    f"input {i + 1} is {b} {_axis_word(rank, axis)}, input 1 is {a}",
                    _size_hint(axis),
                    port=i,
                    code="mismatch" if axis >= 2 else "channels",
                )
        total = None if total is None or shape[dim] is None else total + shape[dim]
    return (*first[:dim], total, *first[dim + 1 :])


def _broadcast_shape(p, shapes):
    """NumPy broadcasting of every input against the ones before it.

    A batch-sized dimension (None) broadcasts against 1 or another batch-sized one only: against
    a fixed size it would work just for a batch of exactly that size.
    """
    rank = max(len(s) for s in shapes)
    out: list = [1] * rank
    for i, shape in enumerate(shapes):
        for offset, d in enumerate(shape):
            axis = rank - len(shape) + offset
            a = out[axis]
            if a == d or d == 1:
                continue
            if a == 1:
                out[axis] = d
                continue
            raise _broadcast_error(i, rank, axis, a, d)
    return tuple(out)


def _broadcast_error(i: int, rank: int, axis: int, before, size) -> ShapeError:
    """Input ``i`` is ``size`` where the inputs before it are ``before`` (None: the batch)."""
    if None in (before, size):
        fixed = size if before is None else before
        return ShapeError(
            f"input {i + 1} lines up a batch-sized dimension with a dimension of {fixed} "
            f"({_axis_word(rank, axis)})",
            "give the inputs the same rank so that their batch dimensions line up",
            port=i,
            code="mismatch",
        )
    return ShapeError(
        f"input {i + 1} is {size} {_axis_word(rank, axis)}, the inputs before it are {before}",
        _size_hint(axis)
        if axis >= 2
        else "make the branches' shapes equal (or 1 where one should broadcast)",
        port=i,
        code="mismatch" if axis >= 2 else "channels",
    )


def _pad_shape(p, shapes):
    x, ref = shapes
    if len(x) != len(ref) or len(x) < 3:
        raise ShapeError(
            f"PadToMatch needs two inputs of the same rank with spatial dimensions, "
            f"got {format_shape(x)} and {format_shape(ref)}",
            "wire two feature maps of the same rank",
            port=1,
            code="rank",
        )
    return (*x[:2], *ref[2:])


register(
    BlockSpec(
        name="Concat",
        category="Merge",
        doc="Join inputs along one dimension, in wire order (channels by default).",
        params=(Int("dim", 1, "Dimension to join along.", min=-6, max=5),),
        inputs=("in",),
        variadic=True,
        min_inputs=2,
        shape=_concat_shape,
        functional=Functional("torch.cat", packed=True, keywords=("dim",)),
    )
)
register(
    BlockSpec(
        name="Add",
        category="Merge",
        doc="Element-wise sum of the inputs (residual skips); shapes broadcast.",
        inputs=("in",),
        variadic=True,
        min_inputs=2,
        shape=_broadcast_shape,
        functional=Functional("+"),
    )
)
register(
    BlockSpec(
        name="Multiply",
        category="Merge",
        doc="Element-wise product of the inputs (gates, attention); shapes broadcast.",
        inputs=("in",),
        variadic=True,
        min_inputs=2,
        shape=_broadcast_shape,
        functional=Functional("*"),
    )
)
register(
    BlockSpec(
        name="PadToMatch",
        category="Merge",
        doc="Pad (or crop) `x` centrally to the spatial size of `ref`, as the seed's Up does.",
        inputs=("x", "ref"),
        shape=_pad_shape,
        functional=Functional("pad_to_match"),
    )
)
