"""Training-time augmentation: a random flip and quarter turn of an image and its mask.

The draw depends only on (seed, epoch, sample index), so one process and many, a run and its
resumption, see the same augmented samples.
"""

from __future__ import annotations

import random

import torch


def augment(x: torch.Tensor, y: torch.Tensor, seed: int, epoch: int, index: int):
    """``x`` [C,H,W] (and ``y`` when it is a map [H,W]) flipped and turned alike."""
    rng = random.Random(f"augment:{seed}:{epoch}:{index}")
    square = x.shape[-1] == x.shape[-2]
    turns = rng.randrange(4) if square else 2 * rng.randrange(2)
    flip = rng.randrange(2) == 1
    is_map = y.dim() >= 2 and y.shape[-2:] == x.shape[-2:]

    def move(t: torch.Tensor) -> torch.Tensor:
        t = torch.rot90(t, turns, (-2, -1))
        return (t.flip(-1) if flip else t).contiguous()

    return move(x), move(y) if is_map else y
