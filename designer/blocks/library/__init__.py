"""The built-in library of composite blocks (DoubleConv, Down, Up, OutConv, ...).

Each ``*.json`` file beside this module holds ``{"format": "torch-designer-blocks", "version": 1,
"blocks": {...}}`` in the design-file schema for composite definitions. Loading registers
every block into the one registry, so the palette and validation see them like any built-in type.
"""

from __future__ import annotations

import json
from pathlib import Path

from designer.core.fileformat import DesignFileError, _Reader, composite_from_dict
from designer.core.registry import REGISTRY

FOLDER = Path(__file__).parent


def load_library(folder: Path = FOLDER) -> list[str]:
    """Register every composite block found in ``folder``; returns their names."""
    names = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        r = _Reader(str(path))
        if data.get("format") != "torch-designer-blocks":
            raise DesignFileError(str(path), "$.format", "expected 'torch-designer-blocks'")
        for name, block in data["blocks"].items():
            REGISTRY.add(composite_from_dict(block, f"$.blocks.{name}", r, name).spec)
            names.append(name)
    return names
