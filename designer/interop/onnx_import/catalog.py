"""Every op family, imported for the converters they register (one family per module)."""

import designer.interop.onnx_import.activation
import designer.interop.onnx_import.attention
import designer.interop.onnx_import.conv
import designer.interop.onnx_import.linear
import designer.interop.onnx_import.merge
import designer.interop.onnx_import.norm
import designer.interop.onnx_import.pad
import designer.interop.onnx_import.pool
import designer.interop.onnx_import.recurrent
import designer.interop.onnx_import.resize
import designer.interop.onnx_import.shape
import designer.interop.onnx_import.tensors
import designer.interop.onnx_import.window  # noqa: F401 - each import registers its converters
from designer.interop.onnx_import.registry import coverage

__all__ = ["coverage"]
