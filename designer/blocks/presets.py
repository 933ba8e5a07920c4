"""Presets: common settings of a block under a name of their own ("Conv 3x3 same").

Blocks take torch's defaults (a Conv2d pads 0), so the usual configurations are offered here as
palette entries that add the block with these parameters set. Declared once as data; the palette
and the quick-add search read :data:`PRESETS` through :func:`find_presets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Preset:
    """A block type with some parameters set; the others keep their defaults."""

    name: str
    block: str
    params: dict[str, Any] = field(default_factory=dict)
    doc: str = ""


PRESETS: tuple[Preset, ...] = (
    Preset(
        "Conv 3x3 same",
        "Conv2d",
        {"kernel_size": 3, "padding": 1},
        "3x3 convolution that keeps H and W (padding 1).",
    ),
    Preset(
        "Conv 3x3 same, no bias",
        "Conv2d",
        {"kernel_size": 3, "padding": 1, "bias": False},
        "3x3 convolution that keeps H and W, without bias: put a BatchNorm2d after it.",
    ),
    Preset(
        "Conv 1x1",
        "Conv2d",
        {"kernel_size": 1},
        "Pointwise convolution: mixes channels (a projection), keeps H and W.",
    ),
    Preset(
        "Downsample conv 3x3/2",
        "Conv2d",
        {"kernel_size": 3, "stride": 2, "padding": 1},
        "3x3 convolution with stride 2: halves H and W (rounding up).",
    ),
    Preset(
        "Stem conv 7x7/2",
        "Conv2d",
        {"kernel_size": 7, "stride": 2, "padding": 3},
        "ResNet's first layer: a 7x7 convolution that halves H and W.",
    ),
    Preset(
        "Patch conv 16x16/16",
        "Conv2d",
        {"kernel_size": 16, "stride": 16},
        "ViT's patch embedding: one output position per 16x16 patch.",
    ),
    Preset(
        "Conv1d 3 same",
        "Conv1d",
        {"kernel_size": 3, "padding": 1},
        "1-D convolution of width 3 that keeps the length (padding 1).",
    ),
    Preset(
        "Upsample conv 2x2/2",
        "ConvTranspose2d",
        {"kernel_size": 2, "stride": 2},
        "Learned upsampling: doubles H and W (U-Net's up-convolution).",
    ),
    Preset(
        "MaxPool 2x2",
        "MaxPool2d",
        {"kernel_size": 2},
        "Maximum over 2x2 windows: halves H and W.",
    ),
    Preset(
        "MaxPool 3x3/2",
        "MaxPool2d",
        {"kernel_size": 3, "stride": 2, "padding": 1},
        "ResNet's stem pooling: overlapping 3x3 windows, halves H and W.",
    ),
    Preset(
        "AvgPool 2x2",
        "AvgPool2d",
        {"kernel_size": 2},
        "Average over 2x2 windows: halves H and W.",
    ),
    Preset(
        "Global average pool",
        "AdaptiveAvgPool2d",
        {"output_size": 1},
        "Average each channel to one value (N×C×1×1): a classifier head's first step.",
    ),
    Preset(
        "Upsample x2 nearest",
        "Upsample",
        {"scale_factor": 2.0, "mode": "nearest"},
        "Doubles H and W by repeating pixels.",
    ),
    Preset(
        "Upsample x2 bilinear",
        "Upsample",
        {"scale_factor": 2.0, "mode": "bilinear"},
        "Doubles H and W by bilinear interpolation.",
    ),
)


def _compact(text: str) -> str:
    """Lower case without spaces and punctuation: ``Conv 3x3/2`` and ``conv3x3 2`` meet."""
    return "".join(c for c in text.lower() if c.isalnum())


def find_presets(query: str, presets: tuple[Preset, ...] = PRESETS) -> list[Preset]:
    """Presets matching what a user typed, best first: the name (exact, then its start, then a
    part of it), then the block type, then a word of the doc. An empty query lists them all."""
    words = _compact(query)
    if not words:
        return list(presets)
    ranked = []
    for order, preset in enumerate(presets):
        rank = _rank(words, query.strip().lower(), preset)
        if rank is not None:
            ranked.append((rank, order, preset))
    return [preset for _, _, preset in sorted(ranked, key=lambda r: r[:2])]


def _rank(words: str, text: str, preset: Preset) -> int | None:
    name = _compact(preset.name)
    if name == words:
        return 0
    if name.startswith(words):
        return 1
    if words in name:
        return 2
    if words in _compact(preset.block):
        return 3
    if text in preset.doc.lower():
        return 4
    return None
