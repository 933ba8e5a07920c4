"""Interchange with other formats: ONNX export and its verification."""

import designer.blocks  # noqa: F401  (registers the block types every design here needs)
