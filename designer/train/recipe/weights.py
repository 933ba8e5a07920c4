"""A model's starting weights: reset from a seed by module name, or read from a file."""

from __future__ import annotations

import zlib

import torch
from torch import nn

from designer.train.recipe.checkpoint import load_safetensors  # recipe-local


def init_weights(model: nn.Module, seed: int) -> None:
    """Reset every module from a seed derived from its qualified name, so the weights depend on
    the names alone, not on the order in which the modules were constructed."""
    with torch.random.fork_rng(devices=[]):
        for name, module in model.named_modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                torch.manual_seed(seed * 1_000_003 + zlib.crc32(name.encode("utf-8")))
                reset()


def read_weights(path: str) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a ``torch.save`` file (a checkpoint's included)."""
    if str(path).endswith(".safetensors"):
        return load_safetensors(path)
    data = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            return data[key]
    return data
