"""torch-designer: draw, check, run, generate and export PyTorch models as node graphs.

The core (this package's graph, blocks, validation and file modules) imports neither torch nor
dearpygui; the live model, code generation and export import torch when they are first used.
"""

from __future__ import annotations

from typing import Any

from designer.builder import DesignBuilder
from designer.editor import Editor, EditRefused
from designer.fileformat import DesignFileError, load, loads, save
from designer.graph import Design, DesignError
from designer.validate import Analyzer, Issue, Report, validate

__version__ = "0.1.0"

__all__ = [
    "Analyzer",
    "Design",
    "DesignBuilder",
    "DesignError",
    "DesignFileError",
    "EditRefused",
    "Editor",
    "Issue",
    "Report",
    "__version__",
    "load",
    "loads",
    "save",
    "validate",
]

_LAZY = {  # public functions whose modules import torch: loaded on first use
    "build": ("designer.live", "build"),
    "export_onnx": ("designer.export", "export_onnx"),
    "generate_code": ("designer.codegen", "generate_code"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'designer' has no attribute {name!r}")
