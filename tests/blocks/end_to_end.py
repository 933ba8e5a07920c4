"""One block in a design, end to end: the check every family test runs on its new blocks."""

from __future__ import annotations

from codegen_helpers import assert_equivalent

import designer
from designer import DesignBuilder


def end_to_end(tmp_path, block: str, sample: tuple, **params):
    """Input -> block -> Output: validated, built, its generated code equal to the live model
    (weights loaded strictly), exported to ONNX and verified by onnxruntime; the result."""
    b = DesignBuilder(block.lower())
    b.output(b.add(block, b.input(sample), node_id="block", **params))
    design = b.build()
    assert designer.validate(design).ok
    assert_equivalent(design)
    return designer.export_onnx(design, tmp_path / f"{block}.onnx")
