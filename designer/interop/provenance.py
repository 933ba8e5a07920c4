"""Which design and designer version made an ONNX model: recorded in its metadata."""

from __future__ import annotations

import hashlib
from typing import Any

from designer.core.fileformat import dumps
from designer.core.graph import Design
from designer.interop.onnx_graph import sanitize, tidy


def design_hash(design: Design) -> str:
    """SHA-256 of the design's canonical JSON (the saved file's bytes)."""
    return hashlib.sha256(dumps(design).encode("utf-8")).hexdigest()


def stamp(proto: Any, design: Design) -> None:
    """Tidy names and metadata; record which design and designer version made the model."""
    from designer.core.version import __version__

    tidy(
        proto,
        graph_name=sanitize(design.name, "model"),
        doc=f"{design.name}, exported by torch-designer {__version__}",
        metadata={
            "designer.version": __version__,
            "designer.design": design.name,
            "designer.design_sha256": design_hash(design),
        },
    )
