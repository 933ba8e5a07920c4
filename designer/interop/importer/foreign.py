"""Layers of other libraries (torchvision's) recognised by their qualified class name, so that
they map to blocks without the importer importing those libraries.

Each entry: the block type, a function reading the block's raw parameters from the instance, and
the input ports the call binds (``None``: the layer's own single input).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

Entry = tuple[str, Callable[[nn.Module], dict[str, Any]], tuple[str, ...] | None]

FOREIGN: dict[str, Entry] = {}


def qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def foreign(cls: type) -> Entry | None:
    """The entry for a class of another library, else None (subclasses do not match)."""
    return FOREIGN.get(qualified(cls)) if FOREIGN else None
