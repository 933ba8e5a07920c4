"""A hand-written U-Net, the yardstick for the ONNX benchmark and the graph-size test.

Written directly in PyTorch, the way a person would type it: two 3x3 convolutions with batch
norm and ReLU per stage, max-pool on the way down, a transposed convolution on the way up, the
upsampled map padded to its skip partner's size and concatenated before the next convolutions.
It matches ``examples/unet.json`` layer for layer (31,037,698 parameters for 3 -> 2 channels).
"""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn


def conv_stage(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 convolution, batch norm, ReLU, twice."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class Decoder(nn.Module):
    """Double the resolution, line up with the skip map, join them, convolve."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.lift = nn.ConvTranspose2d(c_in, c_in // 2, 2, stride=2)
        self.stage = conv_stage(c_in, c_out)

    def forward(self, low: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = self.lift(low)
        dh = skip.size(2) - up.size(2)
        dw = skip.size(3) - up.size(3)
        up = F.pad(up, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
        return self.stage(torch.cat([skip, up], dim=1))


class ReferenceUNet(nn.Module):
    """Four levels down, four up, a 1x1 convolution to class scores."""

    def __init__(self, channels: int = 3, classes: int = 2, width: int = 64) -> None:
        super().__init__()
        sizes = [width * 2**i for i in range(5)]  # 64, 128, 256, 512, 1024
        self.first = conv_stage(channels, sizes[0])
        levels = list(pairwise(sizes))
        self.encoders = nn.ModuleList(conv_stage(a, b) for a, b in levels)
        self.decoders = nn.ModuleList(Decoder(b, a) for a, b in reversed(levels))
        self.head = nn.Conv2d(sizes[0], classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.first(x)]
        for encoder in self.encoders:
            skips.append(encoder(F.max_pool2d(skips[-1], 2)))
        y = skips.pop()
        for decoder in self.decoders:
            y = decoder(y, skips.pop())
        return self.head(y)
