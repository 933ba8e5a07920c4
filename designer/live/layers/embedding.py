"""Layers of the embedding family (see designer.live.layers)."""

from __future__ import annotations

import torch
from torch import nn


class LearnedTensor(nn.Module):
    """A learnable tensor of a fixed shape, such as a class token (1, 1, D) or a positional
    embedding (1, T, D); init is zeros, ones, normal or trunc_normal (std), or uniform (0 to 1)."""

    def __init__(self, shape, init="trunc_normal", std=0.02):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(shape))
        if init == "zeros":
            nn.init.zeros_(self.weight)
        elif init == "ones":
            nn.init.ones_(self.weight)
        elif init == "normal":
            nn.init.normal_(self.weight, std=std)
        elif init == "trunc_normal":
            nn.init.trunc_normal_(self.weight, std=std)
        elif init == "uniform":
            nn.init.uniform_(self.weight)
        else:
            raise ValueError(f"unknown init {init!r}")

    def forward(self):
        return self.weight


class ExpandBatch(nn.Module):
    """Expand x, whose dimension 0 is 1 (a class token), to the size of like's dimension 0 (the
    batch): a view, no copy."""

    def forward(self, x, like):
        return x.expand(like.size(0), *[-1] * (x.dim() - 1))


LAYERS: tuple[type, ...] = (LearnedTensor, ExpandBatch)
