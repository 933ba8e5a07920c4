"""Hand-written torch.nn references for the bundled examples beyond the U-Net: what a user would
write without the designer. Tests copy the live model's weights into them (in order) and compare."""

from __future__ import annotations

import torch
from torch import nn

MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip


def conv_bn_act(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU6(),
    )


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        layers = [conv_bn_act(c_in, hidden, 1)] if expand != 1 else []
        layers += [
            conv_bn_act(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2(classes: int = 1000) -> nn.Module:
    layers, c_in = [conv_bn_act(3, 32, 3, 2)], 32
    for t, c, n, s in MOBILENET_V2:
        for i in range(n):
            layers.append(InvertedResidual(c_in, c, s if i == 0 else 1, t))
            c_in = c
    layers += [conv_bn_act(320, 1280, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers, nn.Dropout(0.2), nn.Linear(1280, classes))


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Load ``source``'s state into ``target`` entry by entry, in order (shapes must agree)."""
    theirs = list(target.state_dict())
    ours = list(source.state_dict().values())
    assert len(theirs) == len(ours), (len(theirs), len(ours))
    state = {}
    for key, value in zip(theirs, ours, strict=True):
        assert target.state_dict()[key].shape == value.shape, key
        state[key] = value
    target.load_state_dict(state, strict=True)
