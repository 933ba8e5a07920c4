"""Layers of the regularization family (see designer.live.layers)."""

from __future__ import annotations

from torch import nn


class DropPath(nn.Module):
    """Stochastic depth: while training, zero each whole sample with probability p and scale
    the others by 1 / (1 - p), so that the expected output is the input; identity in eval."""

    def __init__(self, p: float = 0.1):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = [1] * x.dim()
        shape[0] = x.shape[0]
        mask = x.new_empty(shape).bernoulli_(keep)
        if keep > 0.0:
            mask.div_(keep)
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


LAYERS: tuple[type, ...] = (DropPath,)
