"""The examples beyond plain CNNs against hand-written references: same parameter count, same
outputs with copied weights, and generated code equal to the live model."""

from __future__ import annotations

import runpy

import pytest
import references
import torch
from codegen_helpers import assert_equivalent
from common import EXAMPLES

import designer

GENERATOR = runpy.run_path(str(EXAMPLES / "build_examples.py"))


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


def test_vit_matches_a_reference_and_reaches_vit_b16():
    _matches("vit.json", references.vit(), {"image": (2, 3, 32, 32)}, 148_170)
    b16 = GENERATOR["vit"](224, 16, 768, 12, 12, 3072, 1000)
    assert designer.validate(b16).total_params == 86_567_656


def test_gpt_matches_a_reference_and_reaches_gpt2_small():
    _matches("gpt.json", references.gpt(), {"tokens": (2, 32)}, 118_528)
    small = GENERATOR["gpt"](50257, 1024, 768, 12, 12)
    assert designer.validate(small).total_params == 124_439_808
    untied = GENERATOR["gpt"](tied=False)
    assert designer.validate(untied).total_params == 118_528 + 256 * 64


def test_lstm_classifier_matches_a_reference():
    _matches("lstm_classifier.json", references.lstm_classifier(), {"tokens": (2, 12)}, 91_237)


@pytest.mark.parametrize("name", ["vit.json", "gpt.json", "lstm_classifier.json"])
def test_generated_code_equals_the_live_model(name):
    source = assert_equivalent(designer.load(EXAMPLES / name))
    if name != "lstm_classifier.json":  # the Repeat node: one line, N copies
        assert "for _ in range(" in source


def test_the_gpt_head_reads_the_token_table():
    source = designer.generate_code(designer.load(EXAMPLES / "gpt.json"))
    assert "F.embedding(tokens, wte)" in source and "F.linear(x, wte)" in source


@pytest.mark.parametrize("name", ["vit.json", "gpt.json", "lstm_classifier.json"])
def test_onnx_export_agrees_with_onnxruntime(name, tmp_path):
    result = designer.export_onnx(
        designer.load(EXAMPLES / name), tmp_path / "model.onnx", dynamic=("batch",)
    )
    assert result.checked and len(result.parity) == 2
    assert all(p.ok and p.max_rel <= 1e-4 for p in result.parity), result.parity
