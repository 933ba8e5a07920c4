"""Layers of other libraries (torchvision's) recognised by their qualified class name, so that
they map to blocks without the importer importing those libraries.

Each entry: the block type, a function reading the block's raw parameters from the instance, and
the input ports the call binds (``None``: the layer's own single input).

Swin Transformer's window attention and patch merging (torchvision's, and the layers of
``designer.live.layers.window`` a built design holds, which keep torchvision's attributes) map to
the blocks of ``designer/blocks/window.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from designer.interop.importer.modules import Unsupported

Entry = tuple[str, Callable[[nn.Module], dict[str, Any]], tuple[str, ...] | None]


def window_attention(m: nn.Module) -> dict[str, Any]:
    """A Swin window attention's parameters (v1 and v2 alike)."""
    return {
        "window_size": tuple(m.window_size),
        "shift_size": tuple(m.shift_size),
        "num_heads": m.num_heads,
        "qkv_bias": m.qkv.bias is not None,
        "proj_bias": m.proj.bias is not None,
        "attention_dropout": float(m.attention_dropout),
        "dropout": float(m.dropout),
    }


def patch_merging(m: nn.Module) -> dict[str, Any]:
    """A Swin patch merging's parameters: its norm must be an affine LayerNorm (the block's)."""
    norm = m.norm
    if type(norm) is not nn.LayerNorm or not norm.elementwise_affine or norm.bias is None:
        raise Unsupported(
            f"its norm layer is {type(norm).__name__} {norm}, the block's is an affine LayerNorm"
        )
    return {"eps": norm.eps}


SWIN = "torchvision.models.swin_transformer"
OWN_WINDOW = "designer.live.layers.window"  # a built design's layers (keep torchvision's fields)
FOREIGN: dict[str, Entry] = {
    f"{module}.{name}": (name, read, None)
    for module in (SWIN, OWN_WINDOW)
    for name, read in (
        ("ShiftedWindowAttention", window_attention),
        ("ShiftedWindowAttentionV2", window_attention),
        ("PatchMerging", patch_merging),
        ("PatchMergingV2", patch_merging),
    )
}


def qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def foreign(cls: type) -> Entry | None:
    """The entry for a class of another library, else None (subclasses do not match)."""
    return FOREIGN.get(qualified(cls)) if FOREIGN else None
