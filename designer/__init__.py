"""torch-designer: draw, check, run, generate and export PyTorch models as node graphs.

This facade is the public API. It imports nothing until a name is used: a command then imports only
what it needs (torch only when it runs a model), and the first use registers the built-in blocks.
The layers below it are described in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from designer.core.version import __version__

TYPE_CHECKING = False  # typing's constant, without importing typing at start-up
if TYPE_CHECKING:
    from designer.codegen.writer import generate_code
    from designer.core.builder import DesignBuilder
    from designer.core.errors import DesignFileError
    from designer.core.fileformat import load, loads, save
    from designer.core.graph import Design, DesignError
    from designer.core.validate import Analyzer, Issue, Report, validate
    from designer.edit.editor import Editor, EditRefused
    from designer.interop.export import export_onnx
    from designer.interop.importer import ImportFailed, import_torch
    from designer.interop.onnx_import import import_onnx
    from designer.live.model import build


_API = {  # public name -> the module that defines it
    "Analyzer": "designer.core.validate",
    "Design": "designer.core.graph",
    "DesignBuilder": "designer.core.builder",
    "DesignError": "designer.core.graph",
    "DesignFileError": "designer.core.errors",
    "EditRefused": "designer.edit.editor",
    "Editor": "designer.edit.editor",
    "ImportFailed": "designer.interop.importer",
    "Issue": "designer.core.validate",
    "Report": "designer.core.validate",
    "build": "designer.live.model",
    "export_onnx": "designer.interop.export",
    "generate_code": "designer.codegen.writer",
    "import_exported": "designer.interop.importer",
    "import_onnx": "designer.interop.onnx_import",
    "import_torch": "designer.interop.importer",
    "load": "designer.core.fileformat",
    "loads": "designer.core.fileformat",
    "save": "designer.core.fileformat",
    "validate": "designer.core.validate",
}
__all__ = [
    "Analyzer",
    "Design",
    "DesignBuilder",
    "DesignError",
    "DesignFileError",
    "EditRefused",
    "Editor",
    "ImportFailed",
    "Issue",
    "Report",
    "__version__",
    "build",
    "export_onnx",
    "generate_code",
    "import_exported",
    "import_onnx",
    "import_torch",
    "load",
    "loads",
    "save",
    "validate",
]


def __getattr__(name: str) -> object:
    if name not in _API:
        raise AttributeError(f"module 'designer' has no attribute {name!r}")
    import importlib

    importlib.import_module("designer.blocks")  # registers the built-in block types
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
