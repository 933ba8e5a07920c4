"""The examples beyond plain CNNs against hand-written references: same parameter count, same
outputs with copied weights, and generated code equal to the live model."""

from __future__ import annotations

import references
import torch
from codegen_helpers import assert_equivalent
from common import EXAMPLES

import designer


def _matches(name: str, reference: torch.nn.Module, shapes: dict, total: int) -> None:
    design = designer.load(EXAMPLES / name)
    report = designer.validate(design)
    assert report.ok and report.total_params == total
    live = designer.build(design, "cpu", shapes).eval()
    assert sum(p.numel() for p in reference.parameters()) == total
    references.copy_weights(live, reference)
    reference.eval()
    torch.manual_seed(0)
    inputs = live.example_inputs(batch=2)
    with torch.no_grad():
        assert torch.allclose(live(*inputs), reference(*inputs), atol=1e-5, rtol=1e-4)


def test_mobilenet_v2_matches_torchvision_s_count_and_a_reference():
    shapes = {"image": (2, 3, 64, 64)}
    _matches("mobilenet_v2.json", references.mobilenet_v2(), shapes, 3_504_872)


def test_mobilenet_v2_code_has_one_block_type_with_a_conditional_residual():
    design = designer.load(EXAMPLES / "mobilenet_v2.json")
    source = assert_equivalent(design, {"image": (2, 3, 32, 32)})
    assert source.count("class InvertedResidual") == 1
    assert "return h + x if self.use_residual else h" in source
