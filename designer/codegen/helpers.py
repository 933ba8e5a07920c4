"""Helper functions in generated files: the source of the very functions the live model runs."""

from __future__ import annotations

import inspect
from functools import cache

from designer.live.ops import HELPERS


@cache
def helper_source(name: str) -> str:
    """The source of the helper ``name`` of :mod:`designer.live.ops`, as generated files hold it."""
    return inspect.getsource(HELPERS[name])
