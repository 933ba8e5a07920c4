"""Importing nn.Modules: hierarchy as composite blocks, weights under the live keys, same outputs
from the live model and the generated code, clear failures for what no block expresses."""

from __future__ import annotations

import pytest
import torch
from common import ROOT
from import_models import (
    Branchy,
    DataDependent,
    Head,
    Mixed,
    Odd,
    ResNet,
    Shared,
    SizeBranch,
    UNet,
    assert_close,
    check_same_model,
    outputs,
    randomized,
)
from torch import nn

import designer
from designer.core.fileformat import dumps
from designer.interop.importer import ImportFailed, import_torch


def instances(design, block: str) -> dict[str, dict]:
    return {n: design.node(n)["params"] for n in design.nodes_of_type(block)}


@pytest.fixture(scope="module")
def seed_unet():
    """The seed's U-Net as written there (64 to 1024 channels), on an input not divisible by
    16, so that every Up pads."""
    module = randomized(UNet(n_channels=3, n_classes=2))
    inputs = (torch.randn(2, 3, 68, 68),)
    return module, inputs, import_torch(module, inputs)


def test_seed_unet_imports_as_its_blocks(seed_unet):
    _, _, result = seed_unet
    design = result.design
    assert set(design.blocks) == {"DoubleConv", "Down", "Up", "OutConv"}
    order = [design.node(n)["type"] for n in design.node_ids()]
    assert order == ["Input", "DoubleConv", *["Down"] * 4, *["Up"] * 4, "OutConv", "Output"]
    assert design.node("x")["params"]["shape"] == [3, 68, 68]
    downs = instances(design, "Down")
    assert [p["out_channels"] for p in downs.values()] == [128, 256, 512, 1024]
    assert [p.name for p in design.blocks["Down"].params] == ["out_channels"]
    assert [p["out_channels"] for p in instances(design, "Up").values()] == [512, 256, 128, 64]
    up = design.blocks["Up"].body
    assert up.nodes_of_type("Input") == ["x1", "x2"]
    assert up.node("up")["params"]["out_channels"] == {"expr": "in_channels // 2"}
    assert [up.node(n)["type"] for n in ("pad", "cat")] == ["PadToMatch", "Concat"]
    double = design.blocks["DoubleConv"].body
    convs = [double.node(n)["params"]["out_channels"] for n in double.nodes_of_type("Conv2d")]
    assert convs == [{"expr": "out_channels"}] * 2
    assert instances(design, "OutConv") == {"outc": {"out_channels": 2}}
    assert not result.opaque


def test_seed_unet_validates_and_keeps_its_parameters(seed_unet):
    module, _, result = seed_unet
    report = designer.validate(result.design)
    assert report.ok, report.issues
    count = sum(p.numel() for p in module.parameters())
    assert report.total_params == count == result.design_params
    assert report.nodes["y"].shape == (None, 2, 68, 68)


def test_seed_unet_computes_the_same_live_and_generated(seed_unet):
    check_same_model(*seed_unet)


def test_seed_unet_saved_design_takes_the_weights_at_any_batch(seed_unet, tmp_path):
    module, _, result = seed_unet
    designer.save(result.design, tmp_path / "unet.json")
    loaded = designer.load(tmp_path / "unet.json")
    assert dumps(loaded) == dumps(result.design)
    live = designer.build(loaded, device="cpu")
    live.load_state_dict(result.state_dict, strict=True)
    three = (torch.randn(3, 3, 68, 68),)  # imported with a batch of 2: the batch is symbolic
    assert_close(outputs(live.eval(), three), outputs(module, three))


def test_bilinear_unet_declares_mid_channels():
    module = randomized(UNet(3, 4, bilinear=True, base=8))
    inputs = (torch.randn(2, 3, 52, 52),)
    result = import_torch(module, inputs)
    blocks = result.design.blocks
    assert [p.name for p in blocks["DoubleConv"].params] == ["out_channels", "mid_channels"]
    assert [p.name for p in blocks["Down"].params] == ["out_channels"]
    up = blocks["Up"].body
    assert up.node("conv")["params"]["mid_channels"] == {"expr": "in_channels"}
    assert up.node("up")["type"] == "Upsample"
    check_same_model(module, inputs, result)


def test_resnet_basic_blocks_share_one_block_with_a_downsample_switch():
    module = randomized(ResNet())
    inputs = (torch.randn(2, 3, 32, 32),)
    result = import_torch(module, inputs)
    block = result.design.blocks["BasicBlock"]
    assert [p.name for p in block.params] == ["out_channels", "stride", "use_downsample"]
    body = block.body
    assert body.node("downsample_0")["when"] == "use_downsample"
    assert body.node("downsample_1")["when"] == "use_downsample"
    assert "when" not in body.node("conv1")
    blocks = instances(result.design, "BasicBlock")
    assert [p["use_downsample"] for p in blocks.values()] == [False, True, False, True, False]
    assert [p["out_channels"] for p in blocks.values()] == [16, 32, 32, 64, 64]
    # layer1's two blocks are alike: one node that repeats (a stage's later blocks would too)
    assert list(blocks) == ["layer1", "layer2_0", "layer2_1", "layer3_0", "layer3_1"]
    assert result.design.node("layer1")["repeat"] == 2
    check_same_model(module, inputs, result)


def test_functional_ops_and_view_become_blocks():
    module = randomized(Head())
    inputs = (torch.randn(2, 3, 16, 16),)
    result = import_torch(module, inputs)
    types = [result.design.node(n)["type"] for n in result.design.node_ids()]
    assert types == [
        "Input", "Conv2d", "ReLU", "MaxPool2d", "AdaptiveAvgPool2d", "Flatten", "Linear",
        "LogSoftmax", "Output",
    ]  # fmt: skip
    assert result.design.node("flatten")["params"] == {}  # start_dim 1, the default
    check_same_model(module, inputs, result)


def test_two_inputs_concat_and_multiply():
    module = randomized(Branchy())
    inputs = (torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8))
    result = import_torch(module, inputs)
    design = result.design
    assert design.nodes_of_type("Input") == ["x", "y"]
    assert {"Concat", "Multiply", "Sigmoid", "ReLU"} <= {
        design.node(n)["type"] for n in design.node_ids()
    }
    check_same_model(module, inputs, result)


def test_a_sequential_model_is_a_chain():
    module = randomized(
        nn.Sequential(
            nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Dropout(0.1), nn.Linear(64, 5)
        )
    )
    inputs = (torch.randn(2, 3, 6, 6),)
    result = import_torch(module, inputs)
    assert result.design.node_ids()[1:-1] == [
        "conv2d_0",
        "relu_1",
        "flatten_2",
        "dropout_3",
        "linear_4",
    ]
    check_same_model(module, inputs, result)


def test_decisions_on_sizes_hold_for_the_example_and_are_noted():
    module = randomized(SizeBranch())
    inputs = (torch.randn(2, 3, 8, 8),)
    result = import_torch(module, inputs)
    types = [result.design.node(n)["type"] for n in result.design.node_ids()]
    assert types == ["Input", "Conv2d", "ReLU", "MaxPool2d", "Output"]
    assert result.design.node("max_pool2d")["params"]["kernel_size"] == 2
    text = result.report()
    assert "note: the model (SizeBranch): a condition on sizes was True for the example" in text
    assert "note: the model (SizeBranch): kernel_size = 2 is read from a tensor's size" in text
    check_same_model(module, inputs, result)


def test_unlike_instances_get_a_block_each_and_unused_layers_are_left_out():
    module = randomized(Mixed())
    inputs = (torch.randn(2, 4, 5, 5),)
    result = import_torch(module, inputs)
    design = result.design
    assert [design.node(n)["type"] for n in ("a", "b", "c")] == ["Act", "Act_2", "Act"]
    assert result.unused_weights == ["unused.bias", "unused.weight"]
    assert "left out: 2 tensors the forward never uses" in result.report()
    check_same_model(module, inputs, result)


def test_ops_without_a_block_are_kept_as_opaque_calls_with_their_module_path():
    model, x = Odd().eval(), torch.randn(2, 3, 8, 8)
    result = import_torch(model, x)
    assert [(o.path, o.op) for o in result.opaque] == [("body.1", "torch.sin")]
    assert result.design.node("act")["type"] == "PReLU"  # a block of its own now
    assert all("opaque" in o.reason for o in result.opaque)
    built = designer.build(result.design, "cpu").eval()
    built.load_state_dict(result.state_dict, strict=True)
    with torch.no_grad():
        assert torch.allclose(built(x), model(x), atol=1e-6)


def test_shared_weights_are_refused():
    with pytest.raises(ImportFailed, match=r"`conv`: nn.Conv2d: it runs 2 times"):
        import_torch(Shared(), torch.randn(2, 4, 8, 8))


def test_an_untraceable_module_is_named():
    with pytest.raises(ImportFailed, match=r"`inner.1` \(Sign\): tracing"):
        import_torch(DataDependent(), torch.randn(2, 3, 8, 8))


def test_inputs_need_a_batch_dimension():
    with pytest.raises(TypeError, match="batch dimension"):
        import_torch(nn.ReLU(), torch.randn(3))


def test_report_lists_blocks_parameters_and_opaque(seed_unet):
    text = seed_unet[2].report()
    assert "4 composite blocks" in text
    assert "Down" in text and "×4" in text and "params: out_channels" in text
    assert "31,037,698 parameters" in text
    assert "x N×3×68×68" in text
    assert "opaque: none" in text


ROUND_TRIP = {  # smaller inputs than the examples' 572x572 keep the U-Nets quick
    "unet.json": (3, 68, 68),
    "unet_bilinear.json": (3, 68, 68),
    "unet_small.json": None,
    "resnet.json": None,
    "two_branch.json": None,
    "mobilenet_v2.json": None,
    "gpt.json": None,  # attention, Transformer layers, a tied head: designer's own layers
    "lstm_classifier.json": None,
    "vit.json": None,
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_bundled_examples_round_trip(name):
    original = designer.load(ROOT / "examples" / name)
    inputs_of = {n: (2, *s) for n in original.nodes_of_type("Input") if (s := ROUND_TRIP[name])}
    live = randomized(designer.build(original, "cpu", inputs_of or None))
    torch.manual_seed(0)
    inputs = live.example_inputs(batch=2)
    result = import_torch(live, inputs, name=original.name)
    report = designer.validate(result.design)
    assert report.ok, report.issues
    assert report.total_params == designer.validate(original, inputs_of or None).total_params
    rebuilt = designer.build(result.design, device="cpu")
    rebuilt.load_state_dict(result.state_dict, strict=True)
    assert_close(outputs(rebuilt.eval(), inputs), outputs(live, inputs))
    composites = {original.node(n)["type"] for n in original.node_ids()} & set(original.blocks)
    assert composites <= set(result.design.blocks)
    assert not result.opaque
