"""Importing ONNX models: every bundled example round-trips through ``designer export``, models
exported by torch (dynamo and TorchScript exporters) come back with their module hierarchy and
their outputs, and what cannot be imported fails with one clear message."""

from __future__ import annotations

import io
import logging
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from codegen_helpers import exec_source
from common import EXAMPLES
from import_models import Odd, ResNet, UNet, assert_reloads, randomized
from onnx import TensorProto, helper, numpy_helper
from torch import nn

import designer
from designer.interop.importer import ImportFailed
from designer.interop.onnx_import import BadFile, coverage, import_onnx
from designer.interop.onnx_import.registry import find

# -- helpers ---------------------------------------------------------------------------------------


def assert_close(got, want, tolerance: float = 1e-5) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max()))
    assert float(np.abs(got - want).max()) <= tolerance * scale


def run_onnx(model, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def imported_model(result) -> nn.Module:
    live = designer.build(result.design, device="cpu")
    live.load_state_dict(result.state_dict, strict=True)
    return live.eval()


def generated_model(result) -> nn.Module:
    source = designer.generate_code(result.design, class_name="Imported")
    model = exec_source(source)["Imported"]()
    model.load_state_dict(result.state_dict, strict=True)
    return model.eval()


def outputs(model: nn.Module, *inputs: torch.Tensor) -> list[np.ndarray]:
    with torch.no_grad():
        out = model(*inputs)
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


def torch_export(model: nn.Module, inputs: tuple, dynamo: bool) -> bytes:
    names = [f"in{i}" for i in range(len(inputs))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            if dynamo:
                program = torch.onnx.export(model, inputs, dynamo=True, input_names=names)
                return program.model_proto.SerializeToString()
            buffer = io.BytesIO()
            torch.onnx.export(
                model, inputs, buffer, dynamo=False, input_names=names, opset_version=17
            )
            return buffer.getvalue()
        finally:
            logging.disable(logging.NOTSET)


def check_module(model: nn.Module, inputs: tuple, dynamo: bool):
    """Export ``model`` with torch, import it; outputs equal torch's, onnxruntime's and the
    generated code's."""
    model = randomized(model)
    data = torch_export(model, inputs, dynamo)
    result = import_onnx(data)
    assert designer.validate(result.design).ok
    assert_reloads(result.design)
    want = outputs(model, *inputs)
    feeds = {f"in{i}": x.numpy() for i, x in enumerate(inputs)}
    got = outputs(imported_model(result), *inputs)
    for mine, ref, runtime in zip(got, want, run_onnx(data, feeds), strict=True):
        assert_close(mine, ref)
        assert_close(mine, runtime)
    for got, ref in zip(outputs(generated_model(result), *inputs), want, strict=True):
        assert_close(got, ref)
    return result


def blocks_of(result) -> set[str]:
    return {b.name for b in result.blocks}


# -- every bundled example through designer export ----------------------------------------------


def small_shapes(design) -> dict[str, tuple]:
    """The examples' input shapes, the large U-Nets at 76x76 (odd sizes on the way up)."""
    report = designer.validate(design)
    shapes = {}
    for node in design.nodes_of_type("Input"):
        shape = tuple(1 if d is None else d for d in report.nodes[node].out_shapes[0])
        shapes[node] = shape[:2] + tuple(76 if d > 96 else d for d in shape[2:])
    return shapes


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """``designer export`` of an example with random weights (running statistics included, so
    that folding them into the convolutions shows), once per example: the design, its shapes,
    the original live model, the file and the export's result."""
    cache: dict[str, tuple] = {}

    def export(example: str) -> tuple:
        if example not in cache:
            folder = tmp_path_factory.mktemp(example.removesuffix(".json"))
            design = designer.load(EXAMPLES / example)
            shapes = small_shapes(design)
            original = designer.build(design, device="cpu", input_shapes=shapes)
            original = randomized(original, seed=1)
            torch.save(original.state_dict(), folder / "weights.pt")
            path = folder / "model.onnx"
            written = designer.export_onnx(
                design, path, input_shapes=shapes, weights=folder / "weights.pt", verify=False
            )
            cache[example] = design, shapes, original, path, written
        return cache[example]

    return export


ROUND_TRIPS = sorted(p.name for p in EXAMPLES.glob("*.json"))


def example_inputs(design, shapes) -> list[torch.Tensor]:
    """Random inputs of the example's shapes: token ids for an int64 Input."""
    generator = torch.Generator().manual_seed(2)
    found = []
    for name, shape in shapes.items():
        if design.node(name)["params"].get("dtype") == "int64":
            found.append(torch.randint(0, 50, shape, generator=generator))
        else:
            found.append(torch.randn(shape, generator=generator))
    return found


@pytest.mark.parametrize("example", ROUND_TRIPS)
def test_every_example_round_trips_through_designer_export(example, exported):
    design, shapes, original, path, written = exported(example)
    result = import_onnx(path)
    assert designer.validate(result.design).ok and not result.opaque
    inputs = example_inputs(design, shapes)
    want = outputs(original, *inputs)
    feeds = {name: x.numpy() for name, x in zip(written.inputs, inputs, strict=True)}
    got = outputs(imported_model(result), *inputs)
    for mine, ref, runtime in zip(got, want, run_onnx(onnx.load(path), feeds), strict=True):
        assert_close(mine, ref)
        assert_close(mine, runtime)
    for got, ref in zip(outputs(generated_model(result), *inputs), want, strict=True):
        assert_close(got, ref)


def test_the_exported_unet_comes_back_with_its_blocks(exported):
    path = exported("unet_small.json")[3]
    result = import_onnx(path)
    assert {"DoubleConv", "Down", "Up"} <= blocks_of(result)
    top = [result.design.node(n)["type"] for n in result.design.node_ids()]
    assert top.count("Down") == 4 and top.count("Up") == 4
    up = next(b for b in result.blocks if b.name == "Up")
    assert "PadToMatch" in {op.block for op in up.ops}  # the U-Net's size fix-up is kept
    assert result.design.name == "unet_small"
    assert "opaque: none" in result.report()
    flat = import_onnx(path, hierarchy=False)
    assert not flat.blocks and len(flat.design) == 55 and flat.state_dict.keys()


def test_the_exported_transformers_and_lstm_come_back_as_their_layers(exported):
    """One block per attention and LSTM layer; GPT's head stays tied to its token embedding."""
    expected = {
        "gpt.json": {"MultiheadAttention", "EmbeddingLookup", "TiedLinear", "Parameter"},
        "vit.json": {"MultiheadAttention", "ExpandBatch", "Parameter", "Select"},
        "lstm_classifier.json": {"Embedding", "LSTM", "Select"},
    }
    for example, blocks in expected.items():
        design = exported(example)[0]
        result = import_onnx(exported(example)[3])
        types = {op.block for b in result.blocks for op in b.ops}
        types |= {result.design.node(n)["type"] for n in result.design.node_ids()}
        assert blocks <= types, example
        assert result.design_params == designer.validate(design).total_params, example


def test_a_dynamic_export_imports_at_the_size_given(tmp_path):
    design = designer.load(EXAMPLES / "unet_small.json")
    path = tmp_path / "dynamic.onnx"
    designer.export_onnx(design, path, dynamic=["batch", "height", "width"], verify=False)
    with pytest.raises(BadFile, match="input_shapes"):
        import_onnx(path)
    result = import_onnx(path, input_shapes={"x": (2, 3, 76, 76)})
    x = torch.randn(2, 3, 76, 76)
    (runtime,) = run_onnx(onnx.load(path), {"x": x.numpy()})
    assert_close(outputs(imported_model(result), x)[0], runtime)
    assert result.shapes["x"] == (None, 3, 76, 76)


# -- models exported by torch ---------------------------------------------------------------------


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "torchscript"])
def test_a_resnet_exported_by_torch_imports_and_matches(dynamo):
    result = check_module(ResNet(), (torch.randn(2, 3, 32, 32),), dynamo)
    (block,) = result.blocks
    assert block.instances == 6 and "Add" in {op.block for op in block.ops}
    assert any(p.kind == "bool" for p in block.params)  # with and without the downsample
    if dynamo:  # the dynamo exporter records class names
        assert block.name == "BasicBlock"


def test_the_seed_unet_exported_by_torch_keeps_its_classes():
    result = check_module(UNet(3, 2, base=4), (torch.randn(1, 3, 44, 44),), dynamo=True)
    assert {"DoubleConv", "Down", "Up", "OutConv"} <= blocks_of(result)


class SqueezeExcite(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // 2, 1)
        self.fc2 = nn.Conv2d(channels // 2, channels, 1)

    def forward(self, x):
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))


class InvertedResidual(nn.Module):
    def __init__(self, channels, expand, act):
        super().__init__()
        wide = channels * expand
        self.expand = nn.Sequential(
            nn.Conv2d(channels, wide, 1, bias=False), nn.BatchNorm2d(wide), act()
        )
        self.depthwise = nn.Sequential(
            nn.Conv2d(wide, wide, 3, padding=1, groups=wide, bias=False),
            nn.BatchNorm2d(wide),
            act(),
        )
        self.se = SqueezeExcite(wide)
        self.project = nn.Sequential(
            nn.Conv2d(wide, channels, 1, bias=False), nn.BatchNorm2d(channels)
        )

    def forward(self, x):
        return x + self.project(self.se(self.depthwise(self.expand(x))))


class MobileNet(nn.Module):
    """MobileNetV3-style: depthwise convolutions, squeeze-excite, ReLU6, SiLU and Hardswish."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.Hardswish()
        )
        self.blocks = nn.Sequential(
            InvertedResidual(8, 2, nn.ReLU6),
            InvertedResidual(8, 3, nn.SiLU),
            InvertedResidual(8, 2, nn.Hardswish),
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(8, 16),
            nn.Hardswish(),
            nn.Dropout(0.2),
            nn.Linear(16, 5),
        )

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


class Activations(nn.Module):
    """GELU and Mish (spelled in pieces before opset 20), reflect and 'same' padding, a batch
    norm no convolution absorbs, LayerNorm, resizing, pooling without the padding counted."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")
        self.gelu, self.mish, self.gelu_tanh = nn.GELU(), nn.Mish(), nn.GELU("tanh")
        self.c2 = nn.Conv2d(8, 8, 4, padding="same")
        self.ln, self.elu, self.leaky = nn.LayerNorm(16), nn.ELU(0.5), nn.LeakyReLU(0.1)
        self.up = nn.Upsample(scale_factor=2)
        self.pool = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
        self.bn = nn.BatchNorm2d(8)
        self.ct = nn.ConvTranspose2d(8, 4, 3, 2, 1, output_padding=1)
        self.norm = nn.InstanceNorm2d(4, affine=True)

    def forward(self, x):
        y = self.gelu_tanh(self.mish(self.gelu(self.c1(x))))
        y = self.ln(self.leaky(self.elu(self.c2(y))))
        y = self.pool(self.up(y))
        y = self.bn(y + 1.0 * y)  # a batch norm after an Add; y * 1 is y
        return torch.softmax(self.norm(self.ct(torch.tanh(y))), 1)


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "torchscript"])
def test_a_mobilenet_style_model_imports_and_matches(dynamo):
    result = check_module(MobileNet(), (torch.randn(2, 3, 32, 32),), dynamo)
    types = {op.block for b in result.blocks for op in b.ops}
    assert {"ReLU6", "SiLU", "Hardswish", "Multiply"} <= types


def test_activations_spelled_in_pieces_are_recognised():
    result = check_module(Activations(), (torch.randn(1, 3, 16, 16),), dynamo=False)
    types = [result.design.node(n)["type"] for n in result.design.node_ids()]
    for block in ("GELU", "Mish", "LayerNorm", "BatchNorm2d", "Upsample", "InstanceNorm2d"):
        assert block in types
    modes = [result.design.node(n)["params"].get("padding_mode") for n in result.design.node_ids()]
    assert "reflect" in modes


def test_the_dynamo_export_of_activations_matches():
    check_module(Activations(), (torch.randn(2, 3, 16, 16),), dynamo=True)


# -- what cannot be imported ------------------------------------------------------------------


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "torchscript"])
def test_an_unsupported_op_names_the_node_its_type_and_opset(dynamo):
    data = torch_export(randomized(Odd()), (torch.randn(1, 3, 8, 8),), dynamo)
    with pytest.raises(ImportFailed) as failure:
        import_onnx(data)
    message = str(failure.value)
    assert "Sin (opset" in message and "PRelu (opset" in message
    ops = [o.op.split(" ")[0] for o in failure.value.opaque]
    assert ops == ["Sin", "PRelu"]
    assert all(o.path for o in failure.value.opaque)  # the node names


def tiny_graph(nodes, initializers=(), opset=20, domains=()) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "tiny", [x], [y], list(initializers))
    imports = [helper.make_opsetid("", opset), *(helper.make_opsetid(d, 1) for d in domains)]
    return helper.make_model(graph, opset_imports=imports)


def test_a_custom_op_is_refused_with_its_domain():
    node = helper.make_node("Swish", ["x"], ["y"], name="act", domain="com.example")
    with pytest.raises(
        ImportFailed, match=r"`act`: Swish \(opset 20\): custom op of domain 'com.example'"
    ):
        import_onnx(tiny_graph([node], domains=["com.example"]))


def test_an_op_outside_its_converted_opsets_says_which_opsets_convert():
    node = helper.make_node("Softmax", ["x"], ["y"], name="soft", axis=1)
    with pytest.raises(ImportFailed, match="before opset 13"):
        import_onnx(tiny_graph([node], opset=11))
    assert find("", "Softmax", 11) is not find("", "Softmax", 13)


@pytest.mark.parametrize(
    "content",
    [b"", b"not an onnx file at all \x00\xff\x13", b"\x08\x07\x12\x04junk", "truncated"],
    ids=["empty", "garbage", "no-graph", "truncated"],
)
def test_a_malformed_file_gives_one_clear_error(content, tmp_path):
    path = tmp_path / "broken.onnx"
    if content == "truncated":
        content = tiny_graph([helper.make_node("Relu", ["x"], ["y"])]).SerializeToString()[:-9]
    path.write_bytes(content)
    with pytest.raises(BadFile) as failure:
        import_onnx(path)
    error = failure.value
    assert str(error).startswith(str(path)) and "\n" not in str(error)
    assert error.status == 2 and error.__cause__ is None  # no chained traceback
    assert error.__context__ is None or error.__suppress_context__
    assert isinstance(error, ImportFailed)  # one except clause covers every import failure


def test_a_missing_file_or_a_folder_is_refused(tmp_path):
    with pytest.raises(BadFile, match="no such file"):
        import_onnx(tmp_path / "absent.onnx")
    with pytest.raises(BadFile, match="is a folder"):
        import_onnx(tmp_path)


# -- single converters, against onnxruntime ----------------------------------------------------


def const(name: str, array) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def weights(*shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.3, shape).astype(np.float32)


CASES = {
    "gemm transposed, scaled": (
        [
            helper.make_node("Flatten", ["x"], ["f"]),
            helper.make_node("Gemm", ["f", "w", "b"], ["y"], alpha=0.5, beta=2.0),
        ],
        [const("w", weights(256, 6)), const("b", weights(1, 6, seed=1))],
        "Linear",
    ),
    "matmul then add": (
        [
            helper.make_node("MatMul", ["x", "w"], ["m"]),
            helper.make_node("Add", ["b", "m"], ["y"]),
        ],
        [const("w", weights(8, 5)), const("b", weights(5, seed=1))],
        "Linear",
    ),
    "reshape as flatten": (
        [helper.make_node("Reshape", ["x", "s"], ["y"])],
        [const("s", np.array([1, -1], dtype=np.int64))],
        "Flatten",
    ),
    "resize to sizes": (
        [helper.make_node("Resize", ["x", "", "", "s"], ["y"], mode="linear")],
        [const("s", np.array([1, 4, 12, 20], dtype=np.int64))],
        "Upsample",
    ),
    "zero pad folded into a convolution": (
        [
            helper.make_node("Pad", ["x", "p"], ["q"]),
            helper.make_node("Conv", ["q", "w"], ["y"], pads=[1, 1, 1, 1]),
        ],
        [
            const("p", np.array([0, 0, 2, 2, 0, 0, 2, 2], dtype=np.int64)),
            const("w", weights(3, 4, 3, 3)),
        ],
        "Conv2d",
    ),
    "same-upper convolution, even kernel": (
        [helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER")],
        [const("w", weights(3, 4, 4, 4))],
        "Conv2d",
    ),
    "clip to six": (
        [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
        [const("lo", np.float32(0)), const("hi", np.float32(6))],
        "ReLU6",
    ),
    "global max pool": ([helper.make_node("GlobalMaxPool", ["x"], ["y"])], [], "AdaptiveMaxPool2d"),
    "hard sigmoid times x": (
        [
            helper.make_node("HardSigmoid", ["x"], ["h"], alpha=1 / 6, beta=0.5),
            helper.make_node("Mul", ["x", "h"], ["y"]),
        ],
        [],
        "Hardswish",
    ),
    "batch norm": (
        [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
        [const(n, weights(4, seed=i) + (1.0 if n == "v" else 0.0)) for i, n in enumerate("sbmv")],
        "BatchNorm2d",
    ),
}


def vector(name: str, seed: int = 0) -> onnx.TensorProto:
    return const(name, weights(4, seed=seed))


def floats(name: str, *values) -> onnx.TensorProto:
    return const(name, np.array(values, dtype=np.float32))


CASES_AT = {  # (nodes, initializers, the block expected, opset)
    "group norm": (
        [helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=2)],
        [vector("s"), vector("b", 1)],
        "GroupNorm",
        21,
    ),
    "layer norm over two axes": (
        [helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=-2)],
        [const("s", weights(8, 8)), const("b", weights(8, 8, seed=1))],
        "LayerNorm",
        17,
    ),
    "instance norm": (
        [helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"])],
        [vector("s"), vector("b", 1)],
        "InstanceNorm2d",
        13,
    ),
    "global pool then squeeze": (
        [
            helper.make_node("GlobalAveragePool", ["x"], ["g"]),
            helper.make_node("Squeeze", ["g", "a"], ["y"]),
        ],
        [const("a", np.array([2, 3]))],
        "Flatten",
        13,
    ),
    "mean without kept axes": (
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=0)],
        [],
        "AdaptiveAvgPool2d",
        13,
    ),
    "upsample by axis": (
        [helper.make_node("Upsample", ["x", "s"], ["y"])],
        [floats("s", 1, 1, 2, 3)],
        "Upsample",
        9,
    ),
    "bicubic resize": (
        [helper.make_node("Resize", ["x", "", "s"], ["y"], mode="cubic", cubic_coeff_a=-0.75)],
        [floats("s", 1, 1, 2, 2)],
        "Upsample",
        13,
    ),
    "bilinear resize, corners aligned": (
        [
            helper.make_node(
                "Resize",
                ["x", "", "s"],
                ["y"],
                mode="linear",
                coordinate_transformation_mode="align_corners",
            )
        ],
        [floats("s", 1, 1, 2, 2)],
        "Upsample",
        13,
    ),
    "transposed convolution to an output shape": (
        [
            helper.make_node(
                "ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2], output_shape=[16, 16]
            )
        ],
        [const("w", weights(4, 3, 3, 3)), const("b", weights(3))],
        "ConvTranspose2d",
        17,
    ),
    "sum of three": (
        [
            helper.make_node("Relu", ["x"], ["r"]),
            helper.make_node("Sigmoid", ["x"], ["s"]),
            helper.make_node("Sum", ["x", "r", "s"], ["y"]),
        ],
        [],
        "Add",
        13,
    ),
    "x times its sigmoid": (
        [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["s", "x"], ["y"])],
        [],
        "SiLU",
        13,
    ),
    "dropout with a ratio input": (
        [helper.make_node("Dropout", ["x", "r"], ["y"])],
        [const("r", np.float32(0.3))],
        "Dropout",
        13,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES) + sorted(CASES_AT))
def test_one_converter_matches_onnxruntime(case):
    nodes, initializers, block, *opset = CASES[case] if case in CASES else CASES_AT[case]
    model = tiny_graph(nodes, initializers, opset=opset[0] if opset else 20)
    result = import_onnx(model)
    assert block in [result.design.node(n)["type"] for n in result.design.node_ids()]
    x = np.random.default_rng(3).normal(size=(1, 4, 8, 8)).astype(np.float32)
    (want,) = run_onnx(model, {"x": x})
    assert_close(outputs(imported_model(result), torch.from_numpy(x))[0], want)


def test_padding_torch_cannot_express_is_refused():
    conv = helper.make_node(
        "Conv", ["x", "w"], ["y"], name="c", auto_pad="SAME_UPPER", strides=[2, 2]
    )
    with pytest.raises(ImportFailed, match=r"`c`: Conv \(opset 20\): pads \[\[0, 1\], \[0, 1\]\]"):
        import_onnx(tiny_graph([conv], [const("w", weights(3, 4, 3, 3))]))


def test_the_registry_covers_what_the_exporters_emit():
    covered = {entry.op_type for entry in coverage()}
    needed = {
        "Conv", "ConvTranspose", "Relu", "LeakyRelu", "Sigmoid", "Clip", "HardSwish", "Gelu",
        "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "BatchNormalization", "Add",
        "Mul", "Concat", "Pad", "Resize", "Upsample", "Flatten", "Gemm", "MatMul", "Reshape",
        "Identity", "Dropout", "Softmax", "Gather", "Transpose", "Unsqueeze", "Slice",
        "LayerNormalization", "Squeeze",
    }  # fmt: skip
    assert needed <= covered


class NormMix(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.fc = nn.Linear(channels, channels)

    def forward(self, x):
        return x + self.fc(self.norm(x))


class ThreeMixes(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = NormMix(8), NormMix(8), NormMix(8)

    def forward(self, x):
        return self.c(self.b(self.a(x)))


def test_weights_the_exporter_merged_across_modules_keep_each_module_whole():
    """Fresh LayerNorms hold equal ones and zeros; torch's exporter then names ``a.norm``'s
    weight in all three. Each norm still belongs to the module it ran in."""
    model = ThreeMixes().eval()  # not randomized: the norms' initializers are merged
    x = torch.randn(2, 5, 8)
    data = torch_export(model, (x,), dynamo=True)
    proto = onnx.load_from_string(data)
    norms = [n for n in proto.graph.node if n.op_type == "LayerNormalization"]
    assert len({n.input[1] for n in norms}) == 1  # the premise: one merged initializer
    result = import_onnx(data)
    assert not result.notes, result.notes
    assert blocks_of(result) == {"NormMix"} and len(result.design) == 5  # in, a, b, c, out
    assert_close(outputs(imported_model(result), x)[0], outputs(model, x)[0])
    assert_close(outputs(generated_model(result), x)[0], outputs(model, x)[0])


class ChannelsNorm(nn.LayerNorm):
    """torchvision's LayerNorm2d: a LayerNorm over channels between two permutes."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        return super().forward(x).permute(0, 3, 1, 2)


class NormedStem(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), ChannelsNorm(8))
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.head(self.stem(x))


def test_a_layer_subclass_that_runs_ops_of_its_own_is_one_block():
    """The LayerNorm's weights name the module, whose own permutes run around it: all three are
    that module's block, not a norm beside a module cut in two."""
    result = check_module(NormedStem(), (torch.randn(2, 3, 10, 10),), dynamo=True)
    assert not result.notes, result.notes
    assert any(b.name.startswith("ChannelsNorm") for b in result.blocks), blocks_of(result)
