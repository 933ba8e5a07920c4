"""Windows: Swin Transformer's shifted-window attention (v1, v2) and patch merging (v1, v2).

The maps are channels-last, N×H×W×C (torchvision's Swin layout: a Permute after the patch
embedding's convolution). The attention pads the map to whole windows, so any H and W serve;
the channels C are fixed (they size the weights). MACs per sample: the projections 4·C² per
padded position, scores and their weighted sum 2·P·C per position of a window of P; v2 adds its
position-bias MLP over the (2·Wh-1)·(2·Ww-1) offsets; merging 8·C² per output position.
"""

from __future__ import annotations

from math import ceil, prod

from designer.core.forms import TorchModule, keywords
from designer.core.params import Bool, Float, Int, Ints
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError, expand, format_shape

SWA, SWA2 = "ShiftedWindowAttention", "ShiftedWindowAttentionV2"
MERGE, MERGE2 = "PatchMerging", "PatchMergingV2"
CPB_HIDDEN = 512  # the width of Swin v2's position-bias MLP (torchvision's)


def _channels(block: str, shape: tuple, ranks: str) -> int:
    """The fixed channel count C of a channels-last map."""
    if shape[-1] is None:
        message = f"{block} needs a fixed channel count in the last dimension of {ranks}"
        raise ShapeError(message, "fix the channel size C in the Input's shape", 0, "symbolic")
    return shape[-1]


def _map(block: str, shape: tuple, ranks: tuple[int, ...]) -> int:
    """Check a channels-last map N×H×W×C (or more leading dimensions); its channels."""
    if len(shape) not in ranks:
        mixes = ": H would be the batch" if len(shape) == 3 else ""
        raise ShapeError(
            f"{block} takes an N×H×W×C map (channels last), got {len(shape)}-D "
            f"{format_shape(shape)}{mixes}",
            "move the channels last (Permute [0, 2, 3, 1] after a convolution) and keep the batch",
            0,
            "rank",
        )
    return _channels(block, shape, "N×H×W×C")


def _windows(size, window: int) -> int:
    """Windows along one axis (a size that varies counts one)."""
    return ceil(size / window) if isinstance(size, int) else 1


# -- shifted-window attention --------------------------------------------------------------------


def _attention_shape(block: str):
    def rule(p, shapes):
        (shape,) = shapes
        channels = _map(block, shape, (4,))
        heads = p["num_heads"]
        if channels % heads:
            fits = [h for h in range(1, min(channels, 16) + 1) if channels % h == 0]
            raise ShapeError(
                f"{block} cannot split {channels} channels evenly into {heads} heads",
                f"set num_heads to a divisor of {channels} (such as {', '.join(map(str, fits))})",
                0,
                "channels",
            )
        window, shift = expand(p["window_size"], 2, "window_size"), _shift(p)
        if any(s >= w for s, w in zip(shift, window, strict=True)):
            raise ShapeError(
                f"{block} shifts by {shift} within windows of {window}: a shift must be smaller "
                "than the window (torch runs it, but regions are then masked wrongly)",
                "shift by half a window (window_size // 2), or 0 for the unshifted layer",
                None,
                "param",
            )
        return shape

    return rule


def _shift(p) -> tuple[int, int]:
    return expand(p["shift_size"], 2, "shift_size")


def _weights(p, channels: int) -> int:
    """The projections' weights and biases: qkv (C to 3C) and proj (C to C)."""
    return 4 * channels * channels + 3 * channels * p["qkv_bias"] + channels * p["proj_bias"]


def _offsets(p) -> int:
    """Relative offsets within a window: (2·Wh-1)·(2·Ww-1)."""
    height, width = expand(p["window_size"], 2, "window_size")
    return (2 * height - 1) * (2 * width - 1)


def _attention_count(p, shapes) -> int:
    return _weights(p, shapes[0][-1]) + _offsets(p) * p["num_heads"]


def _attention2_count(p, shapes) -> int:
    heads = p["num_heads"]
    mlp = 3 * CPB_HIDDEN + CPB_HIDDEN * heads  # Linear(2, 512) and Linear(512, heads, bias=False)
    return _weights(p, shapes[0][-1]) + heads + mlp


def _attention_macs(p, ins, outs) -> int:
    _, height, width, channels = ins[0]
    win_h, win_w = expand(p["window_size"], 2, "window_size")
    windows, size = _windows(height, win_h) * _windows(width, win_w), win_h * win_w
    return windows * size * (4 * channels * channels + 2 * size * channels)


def _attention2_macs(p, ins, outs) -> int:
    return _attention_macs(p, ins, outs) + _offsets(p) * CPB_HIDDEN * (2 + p["num_heads"])


_DEFAULTS = {"qkv_bias": True, "proj_bias": True, "attention_dropout": 0.0, "dropout": 0.0}


def _attention_args(p, shapes):
    return (shapes[0][-1], p["window_size"], p["shift_size"], p["num_heads"]), keywords(
        p, _DEFAULTS
    )


_ATTENTION_PARAMS = (
    Ints("window_size", 7, "Positions per window (height, width).", 2, min=1, max=256),
    Ints("shift_size", 0, "Roll of the windows: 0, or half a window every other layer.", 2),
    Int("num_heads", 3, "Attention heads; they split the channels.", min=1, max=4096),
    Bool("qkv_bias", True, "Learn biases in the query, key and value projection."),
    Bool("proj_bias", True, "Learn a bias in the output projection."),
    Float("attention_dropout", 0.0, "Dropout on attention weights while training.", 0.0, 1.0),
    Float("dropout", 0.0, "Dropout on the output while training.", 0.0, 1.0),
)

register(
    BlockSpec(
        name=SWA,
        category="Attention",
        doc="Swin's attention within (shifted) windows of an N×H×W×C map, relative position bias.",
        params=_ATTENTION_PARAMS,
        shape=_attention_shape(SWA),
        count=_attention_count,
        macs=_attention_macs,
        torch=TorchModule(SWA, _attention_args, layer=True),
    )
)
register(
    BlockSpec(
        name=SWA2,
        category="Attention",
        doc="Swin V2's window attention on N×H×W×C: cosine scores, MLP position bias (log-spaced).",
        params=_ATTENTION_PARAMS,
        shape=_attention_shape(SWA2),
        count=_attention2_count,
        macs=_attention2_macs,
        torch=TorchModule(SWA2, _attention_args, layer=True),
    )
)


# -- patch merging -------------------------------------------------------------------------------


def _merge_shape(block: str):
    def rule(p, shapes):
        (shape,) = shapes
        channels = _map(block, shape, (4, 5, 6))
        *lead, height, width, _ = shape
        return (*lead, (height + 1) // 2, (width + 1) // 2, 2 * channels)

    return rule


def _merge_count(norm: int):
    """Parameters: the reduction 4C to 2C (no bias) and a LayerNorm over ``norm``·C."""

    def count(p, shapes) -> int:
        channels = shapes[0][-1]
        return 8 * channels * channels + 2 * norm * channels

    return count


def _merge_macs(p, ins, outs) -> int:
    positions = prod(d if isinstance(d, int) else 1 for d in outs[0][1:-1])
    return positions * 8 * ins[0][-1] ** 2


def _merge_args(p, shapes):
    return (shapes[0][-1],), keywords(p, {"eps": 1e-5})


_EPS = Float("eps", 1e-5, "Added to the variance in the LayerNorm.", min=0.0, max=1.0)

register(
    BlockSpec(
        name=MERGE,
        category="Attention",
        doc="Swin's downsampling: 2×2 patches of N×H×W×C to N×⌈H/2⌉×⌈W/2⌉×2C (LayerNorm, Linear).",
        params=(_EPS,),
        shape=_merge_shape(MERGE),
        count=_merge_count(4),
        macs=_merge_macs,
        torch=TorchModule(MERGE, _merge_args, layer=True),
    )
)
register(
    BlockSpec(
        name=MERGE2,
        category="Attention",
        doc="Swin V2's downsampling: 2×2 patches of N×H×W×C to N×⌈H/2⌉×⌈W/2⌉×2C (Linear, norm).",
        params=(_EPS,),
        shape=_merge_shape(MERGE2),
        count=_merge_count(2),
        macs=_merge_macs,
        torch=TorchModule(MERGE2, _merge_args, layer=True),
    )
)
