"""A hand-written U-Net used as the speed reference for the generated and live models.

Written directly against torch (no designer import): the encoder is a list of stages, each a max
pool followed by two conv-norm-relu layers; the decoder upsamples with a transposed convolution,
pads to the skip tensor and concatenates. Its parameters are registered in the same order as the
designer's U-Net, so :func:`copy_weights` can transfer a state dict by position.
"""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn


def two_convs(c_in: int, c_out: int) -> nn.Sequential:
    """conv3x3 -> batch norm -> relu, twice, without conv biases."""
    layers: list[nn.Module] = []
    for a, b in ((c_in, c_out), (c_out, c_out)):
        layers += [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
    return nn.Sequential(*layers)


class Decoder(nn.Module):
    """Upsample the deeper tensor, align it with the skip, concatenate, convolve."""

    def __init__(self, c_deep: int, c_out: int) -> None:
        super().__init__()
        self.lift = nn.ConvTranspose2d(c_deep, c_deep // 2, 2, stride=2)
        self.mix = two_convs(c_deep, c_out)

    def forward(self, deep: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        deep = self.lift(deep)
        dh, dw = skip.shape[2] - deep.shape[2], skip.shape[3] - deep.shape[3]
        deep = F.pad(deep, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
        return self.mix(torch.cat([skip, deep], dim=1))


class ReferenceUNet(nn.Module):
    """Four down stages (64 -> 1024 channels), four up stages, a 1x1 classifier."""

    def __init__(self, channels: int = 3, classes: int = 2, width: int = 64) -> None:
        super().__init__()
        sizes = [width * 2**i for i in range(5)]
        self.stem = two_convs(channels, sizes[0])
        self.encoder = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), two_convs(a, b)) for a, b in pairwise(sizes)
        )
        self.decoder = nn.ModuleList(
            Decoder(a, b) for a, b in zip(sizes[:0:-1], sizes[-2::-1], strict=True)
        )
        self.classify = nn.Conv2d(sizes[0], classes, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(image)]
        for stage in self.encoder:
            skips.append(stage(skips[-1]))
        h = skips.pop()
        for stage in self.decoder:
            h = stage(h, skips.pop())
        return self.classify(h)


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Load ``source``'s state into ``target`` entry by entry, in registration order."""
    src, dst = source.state_dict(), target.state_dict()
    if len(src) != len(dst):
        raise ValueError(f"{len(src)} state entries cannot fill {len(dst)}")
    mapped = {}
    for (name, value), (key, slot) in zip(src.items(), dst.items(), strict=True):
        if value.shape != slot.shape:
            raise ValueError(f"{name} {tuple(value.shape)} does not fit {key} {tuple(slot.shape)}")
        mapped[key] = value
    target.load_state_dict(mapped, strict=True)
