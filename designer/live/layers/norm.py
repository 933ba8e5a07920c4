"""Layers of the normalisation family (see designer.live.layers)."""

from __future__ import annotations

from torch import nn


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels (dimension 1) of an (N, C, H, W) image at each position, as in
    ConvNeXt: channels moved last, normalised, moved back. Any number of spatial dimensions."""

    def forward(self, x):
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)


LAYERS: tuple[type, ...] = (LayerNorm2d,)
