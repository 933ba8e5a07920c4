"""Design files: versioned JSON with a stable key order; loading never executes anything.

Layout (version 2)::

    {"format": "torch-designer", "version": 1, "name": "unet",
     "blocks": {"MyBlock": {<composite definition>}},
     "nodes": [{"id": "inc", "type": "DoubleConv", "label": "inc",
                "params": {"out_channels": 64}, "pos": [0, 0]}, ...],
     "edges": [{"from": "x.out", "to": "inc.x"}, ...]}

A composite definition holds ``category``, ``doc``, ``params`` (declared: name, type, default, and
optionally min, max, choices, optional, doc) and its own ``nodes`` and ``edges``.

Every structural problem raises :class:`DesignFileError` naming the file, the JSON path and what
would fix it. Model-level problems (an unknown block type, a parameter out of range) load fine and
are reported by validation, so that a user can open a broken design and repair it.
"""

from __future__ import annotations

import os

from designer.core.errors import DesignFileError  # noqa: F401  (re-exported)
from designer.core.filereader import (  # noqa: F401  (re-exported)
    FORMAT,
    MAX_NODES,
    MIGRATIONS,
    VERSION,
    _Reader,
    composite_from_dict,
    design_from_dict,
)
from designer.core.filetext import MAX_BYTES, parse_json, read_text  # noqa: F401
from designer.core.graph import Design

# the writing side, re-exported but imported when first used: reading a design stays light
_WRITER = ("composite_to_dict", "design_to_dict", "dumps", "model_fingerprint")


def __getattr__(name: str):
    if name == "atomic_write":
        from designer.core.atomicfile import atomic_write

        return atomic_write
    if name in _WRITER:
        from designer.core import filewriter

        return getattr(filewriter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load(path: str | os.PathLike) -> Design:
    """Read a design file."""
    return loads(read_text(path), str(path))


def loads(text: str, source: str = "<string>") -> Design:
    """Parse a design from JSON text."""
    return design_from_dict(parse_json(text, source), source)


def save(design: Design, path: str | os.PathLike) -> None:
    """Write atomically: a temporary file in the same folder, flushed, renamed over ``path``."""
    from designer.core.atomicfile import atomic_write
    from designer.core.filewriter import dumps

    atomic_write(path, dumps(design).encode("utf-8"))
