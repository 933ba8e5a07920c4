"""The live model: parameter counts, capture, device choice and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import designer
from designer import DesignBuilder, load
from designer.live.plan import PlanError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def small_unet(name: str = "unet.json"):
    design = load(EXAMPLES / name)
    return design, {"x": (1, 3, 64, 64)}


@pytest.mark.parametrize(
    ("name", "params", "entries"),
    [("unet.json", 31_037_698, 118), ("unet_bilinear.json", 17_263_042, 110)],
)
def test_unet_parameters_and_keys(name, params, entries):
    design, shapes = small_unet(name)
    model = designer.build(design, "cpu", shapes)
    assert sum(p.numel() for p in model.parameters()) == params
    keys = list(model.state_dict())
    assert len(keys) == entries
    assert keys[0] == "inc.double_conv.0.weight"
    assert ("up1.up.weight" in keys) == (name == "unet.json")  # a transposed conv, or Upsample


def test_capture_matches_plain_forward_and_names_inner_nodes():
    design, shapes = small_unet()
    model = designer.build(design, "cpu", shapes).eval()
    (x,) = model.example_inputs()
    with torch.no_grad():
        plain = model(x)
        out, captured = model.forward_capture(x)
    assert torch.equal(plain, out)
    assert captured["logits"] is out
    assert captured["down1"].shape == (1, 128, 32, 32)
    assert captured["up1/cat"].shape == (1, 1024, 8, 8)
    assert captured["inc/conv1"].shape == (1, 64, 64, 64)
    assert "up1/upsample" not in captured  # the inactive branch of Up's switch


def test_invalid_design_lists_its_issues():
    b = DesignBuilder("broken")
    x = b.input((3, 8, 8))
    h = b.add("Conv2d", x, node_id="conv", out_channels=4, kernel_size=9, padding=0)
    b.output(h)
    with pytest.raises(PlanError) as err:
        designer.build(b.build(), "cpu")
    assert "conv" in str(err.value) and "kernel" in str(err.value)
    assert err.value.issues


def test_device_choice():
    from designer.live.model import resolve_device

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("gpu9")


def test_live_model_compiles_without_graph_breaks():
    design = load(EXAMPLES / "two_branch.json")
    model = designer.build(design, "cpu", {"inputs": (1, 16, 12, 12)}).eval()
    (x,) = model.example_inputs()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x))


def test_dead_branches_run_only_when_capturing():
    b = DesignBuilder("dead")
    x = b.input((2, 6, 6))
    h = b.add("Conv2d", x, node_id="conv", out_channels=3, kernel_size=1, padding=0)
    b.add("MaxPool2d", h, node_id="unused", kernel_size=2)
    b.output(b.add("ReLU", h, node_id="act"), node_id="y")
    model = designer.build(b.build(), "cpu")
    assert [step.dead for step in model.plan.model.steps] == [False, False, True]
    _, captured = model.forward_capture(*model.example_inputs())
    assert captured["unused"].shape == (1, 3, 3, 3)
    assert "unused" not in designer.generate_code(b.build()).split("def forward")[1]
