"""Dense and shape-keeping utility blocks: Linear, Flatten, Identity, Dropout."""

from __future__ import annotations

from math import prod

from designer.core.forms import TorchModule, keywords
from designer.core.params import MAX_SIZE, Bool, Float, Int
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError, format_shape
from designer.core.tensor import DTYPES


def _linear_shape(p, shapes):
    (shape,) = shapes
    if len(shape) < 2:
        raise ShapeError(
            f"Linear needs at least a batch and a feature dimension, got {format_shape(shape)}",
            "insert Flatten before it",
            code="rank",
        )
    return (*shape[:-1], p["out_features"])


def _dim(shape, dim: int, name: str) -> int:
    """``dim`` normalised against ``shape``; raises when out of range."""
    rank = len(shape)
    if not -rank <= dim < rank:
        raise ShapeError(
            f"{name}={dim} is out of range for a {rank}-D input {format_shape(shape)}",
            f"choose {name} between {-rank} and {rank - 1}",
            code="rank",
        )
    return dim % rank


def _flatten_shape(p, shapes):
    (shape,) = shapes
    if not shape:
        return (1,)
    start, end = _dim(shape, p["start_dim"], "start_dim"), _dim(shape, p["end_dim"], "end_dim")
    if start > end:
        raise ShapeError("start_dim comes after end_dim", "swap start_dim and end_dim", code="rank")
    if start == 0 and end > 0:
        raise ShapeError(
            "Flatten would merge the batch dimension into the features",
            "start at dim 1 (the default) so that every sample stays separate",
            code="rank",
        )
    merged = 1
    for d in shape[start : end + 1]:
        merged = None if d is None or merged is None else merged * d
    return (*shape[:start], merged, *shape[end + 1 :])


def _same(p, shapes):
    return shapes[0]


register(
    BlockSpec(
        name="Linear",
        category="Dense",
        doc="Fully connected layer over the last dimension (in_features is inferred).",
        params=(
            Int("out_features", 128, "Output features.", min=1, max=MAX_SIZE),
            Bool("bias", True, "Add a learnable bias."),
        ),
        shape=_linear_shape,
        count=lambda p, s: s[0][-1] * p["out_features"] + (p["out_features"] if p["bias"] else 0),
        macs=lambda p, ins, outs: prod(outs[0][1:]) * ins[0][-1],
        torch=TorchModule(
            "Linear", lambda p, s: ((s[0][-1], p["out_features"]), keywords(p, {"bias": True}))
        ),
    )
)
register(
    BlockSpec(
        name="Flatten",
        category="Dense",
        doc="Merge dimensions start_dim..end_dim into one (keeps the batch by default).",
        params=(
            Int("start_dim", 1, "First dimension to merge.", min=-6, max=5),
            Int("end_dim", -1, "Last dimension to merge.", min=-6, max=5),
        ),
        shape=_flatten_shape,
        dtypes=DTYPES,  # merging dimensions works on any element type
        torch=TorchModule(
            "Flatten", lambda p, s: ((), keywords(p, {"start_dim": 1, "end_dim": -1}))
        ),
    )
)
register(
    BlockSpec(
        name="Identity",
        category="Utility",
        doc="Pass the input through unchanged (a named junction).",
        shape=_same,
        dtypes=DTYPES,
        torch=TorchModule("Identity", lambda p, s: ((), {})),
    )
)
register(
    BlockSpec(
        name="Dropout",
        category="Utility",
        doc="Zero random elements with probability p while training.",
        params=(Float("p", 0.5, "Probability of an element to be zeroed.", min=0.0, max=1.0),),
        shape=_same,
        torch=TorchModule("Dropout", lambda p, s: ((), keywords(p, {"p": 0.5}))),
    )
)
