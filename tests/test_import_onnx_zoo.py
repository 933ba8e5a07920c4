"""ONNX import of what torch's exporter writes for torchvision's zoo (bench_import_onnx --zoo),
each pattern in a small model of its own (CI has no torchvision): MobileNetV3's hardsigmoid,
ShuffleNet's channel split and shuffle, ConvNeXt's ``as_strided`` after pooling, and a ViT's
attention whose zero output bias the exporter drops."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from test_import_onnx import assert_close, generated_model, imported_model, outputs, run_onnx
from test_import_onnx import torch_export as export
from torch import nn

from designer.interop.importer import ImportFailed
from designer.interop.onnx_import import import_onnx
from designer.live.layers.window import ShiftedWindowAttention, ShiftedWindowAttentionV2


def round_trip(model: nn.Module, *inputs: torch.Tensor):
    """Export ``model`` (dynamo), import it: the live model and the generated code give
    torch's and onnxruntime's outputs. Returns the flat import (its blocks in one list)."""
    model = model.eval()
    data = export(model, inputs, dynamo=True)
    result = import_onnx(data)
    want = outputs(model, *inputs)
    (runtime,) = run_onnx(data, {f"in{i}": x.numpy() for i, x in enumerate(inputs)})
    for built in (imported_model(result), generated_model(result)):
        (got,) = outputs(built, *inputs)
        assert_close(got, want[0])
        assert_close(got, runtime)
    return import_onnx(data, hierarchy=False)


def types(result) -> set[str]:
    return {result.design.node(n)["type"] for n in result.design.node_ids()}


class SqueezeExcite(nn.Module):
    """MobileNetV3's squeeze-excitation: its scale through ``hardsigmoid``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        scale = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * nn.functional.hardsigmoid(self.conv(scale))


class ShuffleUnit(nn.Module):
    """ShuffleNetV2's unit: half the channels through a branch, then a channel shuffle."""

    def __init__(self) -> None:
        super().__init__()
        self.branch = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        x = torch.cat((a, torch.relu(self.branch(b))), dim=1)
        n, c, h, w = x.shape
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous()
        return x.view(n, c, h, w)


class Encoder(nn.Module):
    """A ViT encoder layer's attention, its output bias zero as a fresh layer's."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        with torch.no_grad():
            self.attn.in_proj_bias.normal_()
            self.attn.out_proj.bias.zero_()

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0] + x


def test_torchs_hardsigmoid_is_a_hardsigmoid_block():
    result = round_trip(SqueezeExcite(), torch.randn(1, 4, 5, 5) * 4)
    assert "Hardsigmoid" in types(result)


def test_a_channel_split_and_shuffle_convert_to_slices_and_views():
    result = round_trip(ShuffleUnit(), torch.randn(1, 8, 6, 6))
    assert {"Slice", "Concat"} <= types(result)
    assert types(result) & {"Unflatten", "Reshape"}


def test_attention_whose_zero_output_bias_the_exporter_dropped_is_one_block():
    result = round_trip(Encoder(), torch.randn(1, 5, 8))
    assert "MultiheadAttention" in types(result)


def strided(indices: np.ndarray) -> onnx.ModelProto:
    """``Reshape`` to one axis then ``Gather`` (torch's ``as_strided`` after pooling)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 1, 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("Reshape", ["x", "flat"], ["v"]),
        helper.make_node("Gather", ["v", "i"], ["g"], axis=0),
        helper.make_node("Relu", ["g"], ["y"]),
    ]
    consts = [
        numpy_helper.from_array(np.array([-1], np.int64), "flat"),
        numpy_helper.from_array(indices.astype(np.int64), "i"),
    ]
    made = helper.make_graph(nodes, "strided", [x], [y], consts)
    return helper.make_model(made, opset_imports=[helper.make_opsetid("", 20)])


@pytest.mark.parametrize("shape", [(1, 6, 1, 1), (1, 6)])
def test_a_gather_reading_a_raveled_tensor_in_order_is_a_view(shape):
    model = strided(np.arange(6).reshape(shape))
    x = np.random.default_rng(0).normal(size=(1, 6, 1, 1)).astype(np.float32)
    (want,) = run_onnx(model, {"x": x})
    (got,) = outputs(imported_model(import_onnx(model)), torch.from_numpy(x))
    assert_close(got, want)


def test_a_gather_reading_a_raveled_tensor_out_of_order_is_refused():
    with pytest.raises(ImportFailed, match="out of order"):
        import_onnx(strided(np.arange(6)[::-1].reshape(1, 6, 1, 1).copy()))


def test_a_reshape_keeping_the_batch_is_a_reshape_block():
    result = round_trip(Regroup(), torch.randn(2, 6, 4))
    assert "Reshape" in types(result)


class Regroup(nn.Module):
    def forward(self, x):
        return torch.relu(x.reshape(x.shape[0], 4, 3, 2))


class SwinStage(nn.Module):
    """Two Swin attentions (v1 or v2), the second shifted (its mask a constant). Windows of 8 as
    Swin V2's: the exporter keeps a position MLP that large, and folds a smaller one."""

    def __init__(self, layer) -> None:
        super().__init__()
        self.plain = layer(8, 8, 0, 2)
        self.shifted = layer(8, 8, 4, 2)
        for param in self.parameters():
            nn.init.normal_(param, std=0.5)

    def forward(self, x):
        return self.shifted(self.plain(x) + x)


@pytest.mark.parametrize("layer", [ShiftedWindowAttention, ShiftedWindowAttentionV2])
def test_swin_window_attention_comes_back_as_its_block_with_its_shift(layer):
    result = round_trip(SwinStage(layer), torch.randn(1, 8, 16, 8))
    layers = [
        result.design.node(n)["params"]
        for n in result.design.node_ids()
        if result.design.node(n)["type"] == layer.__name__
    ]
    shifts = sorted(str(p.get("shift_size", 0)) for p in layers)  # the default 0 is left out
    assert shifts == ["0", "4"]


@pytest.mark.parametrize(
    "node, sizes",
    [
        (helper.make_node("Split", ["x", "s"], ["a", "b"], axis=1), [4, 2]),
        (helper.make_node("Split", ["x"], ["a", "b", "c"], axis=-1, num_outputs=3), None),
    ],
)
def test_each_output_of_a_split_is_a_slice(node, sizes):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    join = helper.make_node("Concat", ["b", "a"], ["y"], axis=node.attribute[0].i)
    consts = [] if sizes is None else [numpy_helper.from_array(np.array(sizes, np.int64), "s")]
    made = helper.make_graph([node, join], "split", [x], [y], consts)
    model = helper.make_model(made, opset_imports=[helper.make_opsetid("", 20)])
    data = np.random.default_rng(1).normal(size=(2, 6, 5)).astype(np.float32)
    (want,) = run_onnx(model, {"x": data})
    result = import_onnx(model)
    (got,) = outputs(imported_model(result), torch.from_numpy(data))
    assert_close(got, want)
    assert types(import_onnx(model, hierarchy=False)) == {"Input", "Slice", "Concat", "Output"}
