"""Bring your own ONNX model: ``import_onnx(path)`` gives an editable design, its weights under the
live model's keys and a report, like :func:`designer.interop.importer.import_torch`.

Nodes convert through a registry of converters keyed by op type and opset (one op family per
module: ``conv``, ``pool``, ``activation``, ``norm``, ``merge``, ``pad``, ``shape``, ``resize``,
``linear``, ``tensors``, ``embedding``); a layer the exporter spelled in many nodes (attention,
Swin's window attention, recurrent layers) converts as one block per module scope (``regions``,
``attention``, ``window``, ``recurrent``); initializers become the blocks' weights; the module
scopes the exporter recorded become composite blocks. See
:mod:`designer.interop.onnx_import.api` for the steps.
"""

from designer.interop.onnx_import.api import coverage, import_onnx
from designer.interop.onnx_import.reader import BadFile

__all__ = ["BadFile", "coverage", "import_onnx"]
