"""Helpers in generated files: the source of the very functions and layers the live model runs."""

from __future__ import annotations

import inspect
from functools import cache

from designer.live.layers import CLASSES
from designer.live.ops import HELPERS


@cache
def helper_source(name: str) -> str:
    """The source of the helper function of :mod:`designer.live.ops` or the layer class of
    :mod:`designer.live.layers` called ``name``, as generated files hold it."""
    return inspect.getsource(HELPERS[name] if name in HELPERS else CLASSES[name])
