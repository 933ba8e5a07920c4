"""Helpers in generated files: the source of the very functions and layers the live model runs."""

from __future__ import annotations

import inspect
from functools import cache

from designer.live.layers import CLASSES, FUNCTIONS
from designer.live.ops import HELPERS


@cache
def helper_source(name: str) -> str:
    """The source of the helper function of :mod:`designer.live.ops`, or the layer class or
    family function of :mod:`designer.live.layers` called ``name``, as generated files hold it."""
    return inspect.getsource(HELPERS.get(name) or FUNCTIONS.get(name) or CLASSES[name])
