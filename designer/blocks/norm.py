"""Normalisation: BatchNorm1d/2d/3d, GroupNorm, LayerNorm, InstanceNorm1d/2d/3d, RMSNorm and
LayerNorm2d (ConvNeXt's LayerNorm over the channels of an image)."""

from __future__ import annotations

from math import prod

from designer.core.forms import TorchModule, keywords
from designer.core.params import Bool, Float, Int
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError, format_shape, require_rank

_EPS = Float("eps", 1e-5, "Added to the variance for numerical stability.", min=0.0, max=1.0)
_MOMENTUM = Float(
    "momentum", 0.1, "Weight of the newest batch in the running statistics.", min=0.0, max=1.0
)
_RANKS = {1: (2, 3), 2: (4,), 3: (5,)}


def _batch_norm_shape(n: int):
    def rule(p, shapes):
        require_rank(shapes[0], _RANKS[n], f"BatchNorm{n}d")
        if p["eps"] <= 0:
            raise ShapeError(
                f"BatchNorm{n}d needs a positive eps (torch refuses eps={p['eps']:g} "
                "while training)",
                "set eps to a small positive number such as 1e-5",
                code="param",
            )
        return shapes[0]

    return rule


def _instance_norm_shape(n: int):
    def rule(p, shapes):
        (shape,) = shapes
        require_rank(shape, (n + 2,), f"InstanceNorm{n}d")
        if prod(shape[2:]) == 1:
            raise ShapeError(
                f"InstanceNorm{n}d normalises each channel over its spatial elements, and "
                f"{format_shape(shape)} has only one (torch refuses it while training)",
                "use a larger input, or BatchNorm or LayerNorm here",
                code="kernel",
            )
        return shape

    return rule


def _group_norm_shape(p, shapes):
    (shape,) = shapes
    require_rank(shape, (2, 3, 4, 5, 6), "GroupNorm")
    channels, groups = shape[1], p["num_groups"]
    if channels % groups:
        raise ShapeError(
            f"{channels} channels cannot be split into {groups} groups",
            "choose num_groups that divides the channel count",
            code="channels",
        )
    if channels // groups * prod(shape[2:]) == 1:
        raise ShapeError(
            f"each of the {groups} groups of {format_shape(shape)} holds a single value, so "
            "GroupNorm would output only its bias (torch refuses it for a batch of one)",
            "use fewer groups, or a larger input",
            code="channels",
        )
    return shape


def _layer_norm_shape(p, shapes):
    (shape,) = shapes
    if p["dims"] > len(shape) - 1:
        raise ShapeError(
            f"cannot normalise the last {p['dims']} dimensions of {format_shape(shape)}",
            f"set dims to at most {len(shape) - 1}",
            code="rank",
        )
    return shape


def _layer_norm2d_shape(p, shapes):
    (shape,) = shapes
    if len(shape) < 3:
        raise ShapeError(
            f"LayerNorm2d normalises the channels at each position of an N×C×H×W input, "
            f"{format_shape(shape)} has no positions",
            "use LayerNorm (dims=1) on N×C features, or feed an image",
            code="rank",
        )
    return shape


def _normalized_shape(p, shapes):
    """torch's ``normalized_shape``: an int for one dimension, else a list."""
    dims = shapes[0][-p["dims"] :]
    return dims[0] if len(dims) == 1 else list(dims)


def _batch_of_one(p, shapes):
    """Without running statistics, batch norm needs two values per channel even when evaluated:
    a traced batch of one with no spatial extent has a single one."""
    batch = shapes[0][0] or 1  # the exporter traces with batch 1 unless given another
    if not p["track_running_stats"] and batch * prod(shapes[0][2:]) == 1:
        return (
            "without running statistics it sees a single value per channel at this input size",
            "set track_running_stats, or export with a batch of 2 or more (--input-shape)",
        )
    return None


def _affine_count(p, shapes):
    return 2 * shapes[0][1] if p["affine"] else 0


def _layer_norm_count(p, shapes):
    size = prod(shapes[0][len(shapes[0]) - p["dims"] :])
    return (size if p["elementwise_affine"] else 0) + (
        size if p["elementwise_affine"] and p["bias"] else 0
    )


def _rms_norm_count(p, shapes):
    size = prod(shapes[0][len(shapes[0]) - p["dims"] :])  # fails on a symbolic size: torch needs it
    return size if p["elementwise_affine"] else 0


def _layer_norm2d_count(p, shapes):
    affine = p["elementwise_affine"]
    return shapes[0][1] * ((2 if p["bias"] else 1) if affine else 0)


_BN_DEFAULTS = {"eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True}
_IN_DEFAULTS = {"eps": 1e-5, "momentum": 0.1, "affine": False, "track_running_stats": False}

for _n in (1, 2, 3):
    register(
        BlockSpec(
            name=f"BatchNorm{_n}d",
            category="Normalization",
            doc=f"Batch normalisation over the channels of a {_RANKS[_n][0]}-D input.",
            params=(
                _EPS,
                _MOMENTUM,
                Bool("affine", True, "Learn a scale and shift per channel."),
                Bool("track_running_stats", True, "Keep running mean and variance for evaluation."),
            ),
            shape=_batch_norm_shape(_n),
            count=_affine_count,
            torch=TorchModule(
                f"BatchNorm{_n}d", lambda p, s: ((s[0][1],), keywords(p, _BN_DEFAULTS))
            ),
            onnx=_batch_of_one,
        )
    )
    register(
        BlockSpec(
            name=f"InstanceNorm{_n}d",
            category="Normalization",
            doc=f"Instance normalisation of each sample and channel of a {_n + 2}-D input.",
            params=(
                _EPS,
                _MOMENTUM,
                Bool("affine", False, "Learn a scale and shift per channel."),
                Bool("track_running_stats", False, "Keep running statistics for evaluation."),
            ),
            shape=_instance_norm_shape(_n),
            count=_affine_count,
            torch=TorchModule(
                f"InstanceNorm{_n}d", lambda p, s: ((s[0][1],), keywords(p, _IN_DEFAULTS))
            ),
        )
    )

register(
    BlockSpec(
        name="GroupNorm",
        category="Normalization",
        doc="Group normalisation: channels split into groups, normalised per sample.",
        params=(
            Int("num_groups", 32, "Groups the channels are split into.", min=1, max=65536),
            _EPS,
            Bool("affine", True, "Learn a scale and shift per channel."),
        ),
        shape=_group_norm_shape,
        count=_affine_count,
        torch=TorchModule(
            "GroupNorm",
            lambda p, s: ((p["num_groups"], s[0][1]), keywords(p, {"eps": 1e-5, "affine": True})),
        ),
    )
)
register(
    BlockSpec(
        name="LayerNorm",
        category="Normalization",
        doc="Layer normalisation over the last `dims` dimensions (their sizes are inferred).",
        params=(
            Int("dims", 1, "How many trailing dimensions to normalise.", min=1, max=5),
            _EPS,
            Bool("elementwise_affine", True, "Learn a scale (and shift) per element."),
            Bool("bias", True, "Learn the shift as well (with elementwise_affine)."),
        ),
        shape=_layer_norm_shape,
        count=_layer_norm_count,
        torch=TorchModule(
            "LayerNorm",
            lambda p, s: (
                (_normalized_shape(p, s),),
                keywords(p, {"eps": 1e-5, "elementwise_affine": True, "bias": True}),
            ),
        ),
    )
)
register(
    BlockSpec(
        name="RMSNorm",
        category="Normalization",
        doc="Root-mean-square normalisation over the last `dims` dimensions (sizes inferred).",
        params=(
            Int("dims", 1, "How many trailing dimensions to normalise.", min=1, max=5),
            Float(
                "eps",
                None,
                "Added to the mean square; null: torch's default, the dtype's machine epsilon.",
                min=0.0,
                max=1.0,
                optional=True,
            ),
            Bool("elementwise_affine", True, "Learn a scale per element."),
        ),
        shape=_layer_norm_shape,
        count=_rms_norm_count,
        torch=TorchModule(
            "RMSNorm",
            lambda p, s: (
                (_normalized_shape(p, s),),
                keywords(p, {"eps": None, "elementwise_affine": True}),
            ),
        ),
    )
)
register(
    BlockSpec(
        name="LayerNorm2d",
        category="Normalization",
        doc="LayerNorm over the channels of an N×C×H×W image at each position (ConvNeXt's).",
        params=(
            Float("eps", 1e-6, "Added to the variance (ConvNeXt's 1e-6).", min=0.0, max=1.0),
            Bool("elementwise_affine", True, "Learn a scale (and shift) per channel."),
            Bool("bias", True, "Learn the shift as well (with elementwise_affine)."),
        ),
        shape=_layer_norm2d_shape,
        count=_layer_norm2d_count,
        torch=TorchModule(
            "LayerNorm2d",
            lambda p, s: (
                (s[0][1],),
                keywords(p, {"eps": 1e-5, "elementwise_affine": True, "bias": True}),
            ),
            layer=True,
        ),
    )
)
