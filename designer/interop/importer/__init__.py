"""Bring your own model: a live ``nn.Module`` becomes an editable design.

``import_torch(module, example_inputs)`` traces the module with ``torch.fx``, maps its layers and
functional ops to blocks, keeps its module hierarchy as composite blocks (one per class, the
constants that differ as declared parameters) and returns the design with the module's weights
under the live model's keys; what fx cannot trace goes through torch.export, as do ``.pt2`` files
(``import_exported``). See :mod:`designer.interop.importer.api` for the steps.
"""

from designer.interop.importer.api import import_exported, import_torch
from designer.interop.importer.mapped import Opaque
from designer.interop.importer.result import ImportFailed, ImportResult

__all__ = ["ImportFailed", "ImportResult", "Opaque", "import_exported", "import_torch"]
