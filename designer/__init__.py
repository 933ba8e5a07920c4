"""torch-designer: draw, check, run, generate and export PyTorch models as node graphs.

The core (this package's graph, blocks, validation and file modules) imports neither torch nor
dearpygui; the builder, the editor, the live model, code generation and export are imported on
first use, so a command imports only what it needs and torch only when it runs a model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The core every command needs. Bound here, not lazily: ``designer.validate`` is also a submodule,
# whose import would otherwise replace the function by the module on this package.
from designer.fileformat import DesignFileError, load, loads, save
from designer.graph import Design, DesignError
from designer.validate import Analyzer, Issue, Report, validate

if TYPE_CHECKING:
    from designer.builder import DesignBuilder
    from designer.codegen import generate_code
    from designer.editor import Editor, EditRefused
    from designer.export import export_onnx
    from designer.live import build

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
    "build",
    "export_onnx",
    "generate_code",
    "load",
    "loads",
    "save",
    "validate",
]

_LAZY = {  # the rest is loaded on first use, so that a command imports only what it needs
    "DesignBuilder": ("designer.builder", "DesignBuilder"),
    "EditRefused": ("designer.editor", "EditRefused"),
    "Editor": ("designer.editor", "Editor"),
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
