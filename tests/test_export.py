"""ONNX export: one node per block on every example, parity with torch, names, metadata, dynamic
axes, and bad input that writes nothing.

Each example is exported once (module fixture, at 64x64 to keep it quick); other tests use designs
of a few layers.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from common import EXAMPLES

import designer
from designer import DesignBuilder, export_onnx, load
from designer.core.fileformat import dumps
from designer.interop.export import ExportError
from designer.interop.provenance import design_hash

EXAMPLE_NAMES = ("unet", "unet_bilinear", "resnet", "two_branch")
DEBRIS = ("Identity", "Cast")
# What each block becomes in a clean graph: one ONNX node, or none (batch norm is folded into the
# convolution before it; Input and Output are the graph's boundary).
ONNX_OP = {
    "Conv2d": "Conv",
    "ConvTranspose2d": "ConvTranspose",
    "BatchNorm2d": None,
    "ReLU": "Relu",
    "LeakyReLU": "LeakyRelu",
    "MaxPool2d": "MaxPool",
    "AdaptiveAvgPool2d": "ReduceMean",
    "Upsample": "Resize",
    "PadToMatch": "Pad",
    "Concat": "Concat",
    "Add": "Add",
    "Flatten": "Reshape",
    "Linear": "Gemm",
    "Input": None,
    "Output": None,
}


def small_shapes(design) -> dict[str, tuple[int, ...]]:
    """Every Input at batch 1 and 64x64, its channels kept."""
    return {
        n: (1, design.node(n)["params"]["shape"][0], 64, 64) for n in design.nodes_of_type("Input")
    }


def expected_ops(design, report) -> Counter:
    """The ONNX ops the design should become, composite blocks expanded recursively."""
    ops: Counter = Counter()
    for node_id in report.order:
        info = report.nodes[node_id]
        spec = design.spec(info.block)
        if spec.composite is not None:
            inner = spec.composite.instantiate(info.values, list(info.in_shapes))
            ops += expected_ops(inner.body, inner.report)
        elif ONNX_OP[info.block]:
            ops[ONNX_OP[info.block]] += 1
    return ops


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Every example exported (and verified) once: name -> (design, result, model proto)."""
    folder = tmp_path_factory.mktemp("onnx")
    results = {}
    for name in EXAMPLE_NAMES:
        design = load(EXAMPLES / f"{name}.json")
        path = folder / f"{name}.onnx"
        result = export_onnx(design, path, input_shapes=small_shapes(design))
        results[name] = (design, result, onnx.load(path))
    return results


@pytest.fixture(scope="module")
def reference_ops():
    """What torch's exporter makes of the hand-written U-Net, in this run."""
    from bench.onnx_reference_unet import ReferenceUNet
    from designer.interop.exporter import quiet_exporter

    with quiet_exporter():
        program = torch.onnx.export(
            ReferenceUNet().eval(), (torch.randn(1, 3, 64, 64),), dynamo=True, verbose=False
        )
    return Counter(node.op_type for node in program.model_proto.graph.node)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_block_becomes_exactly_one_node(exported, name):
    design, result, model = exported[name]
    want = expected_ops(design, designer.validate(design, small_shapes(design)))
    assert result.ops == want
    assert Counter(n.op_type for n in model.graph.node) == want
    assert not set(result.ops) & set(DEBRIS)


def test_unet_is_no_larger_than_the_hand_written_one(exported, reference_ops):
    _, result, _ = exported["unet"]
    assert result.nodes <= sum(reference_ops.values())
    assert set(result.ops) == set(reference_ops)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_onnxruntime_agrees_with_torch(exported, name):
    _, result, _ = exported[name]
    assert result.checked
    (parity,) = result.parity
    assert parity.ok and parity.max_rel < 1e-4 and parity.max_abs < 1e-3
    assert parity.line().endswith("(limit 1e-04): ok")


def test_names_come_from_labels_and_metadata_from_the_design(exported):
    design, result, model = exported["unet"]
    assert [i.name for i in model.graph.input] == ["x"] == result.inputs
    assert [o.name for o in model.graph.output] == ["logits"] == result.outputs
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["designer.version"] == designer.__version__
    assert meta["designer.design"] == "unet"
    digest = hashlib.sha256(dumps(design).encode()).hexdigest()
    assert meta["designer.design_sha256"] == digest == result.design_sha256
    assert model.graph.name == "unet"


def test_graph_carries_no_exporter_bookkeeping(exported):
    _, result, model = exported["unet"]
    assert not any(n.metadata_props for n in model.graph.node)
    payload = result.path.read_bytes()
    assert b"stack_trace" not in payload and b"site-packages" not in payload
    names = [n.name for n in model.graph.node]
    assert len(set(names)) == len(names)
    assert names[0] == "inc.double_conv.0/Conv"  # the module path that names its weights


def tiny(label_in: str = "x", label_out: str = "y", channels: int = 3):
    b = DesignBuilder("tiny")
    x = b.input((channels, 16, 16), label=label_in)
    h = b.add("Conv2d", x, node_id="conv", out_channels=8, kernel_size=3, padding=1)
    h = b.add("BatchNorm2d", h, node_id="bn")
    b.output(b.add("ReLU", h, node_id="relu"), label=label_out)
    return b.build()


def test_labels_are_sanitized_into_distinct_names(tmp_path):
    result = export_onnx(tiny("input image", "input image!"), tmp_path / "t.onnx", verify=False)
    assert result.inputs == ["input_image"]
    assert result.outputs == ["input_image_2"]


def test_several_inputs_and_outputs_keep_the_design_order(tmp_path):
    b = DesignBuilder("two_io")
    rgb = b.input((3, 8, 8), node_id="rgb", label="rgb")
    depth = b.input((1, 8, 8), node_id="depth", label="depth map")
    fused = b.add("Concat", rgb, depth, node_id="cat")
    b.output(
        b.add("Conv2d", fused, node_id="head", out_channels=2, kernel_size=1, padding=0),
        node_id="seg",
    )
    b.output(b.add("ReLU", depth, node_id="act"), node_id="mask", label="mask")
    path = tmp_path / "io.onnx"
    result = export_onnx(b.build(), path, input_shapes={"depth": (2, 1, 8, 8), "rgb": (2, 3, 8, 8)})
    assert (result.inputs, result.outputs) == (["rgb", "depth_map"], ["seg", "mask"])
    assert result.parity[0].ok and result.parity[0].shapes == {
        "rgb": (2, 3, 8, 8),
        "depth_map": (2, 1, 8, 8),
    }
    session = ort.InferenceSession(str(path))
    rgb_in, depth_in = np.ones((2, 3, 8, 8), np.float32), -np.ones((2, 1, 8, 8), np.float32)
    seg, mask = session.run(None, {"rgb": rgb_in, "depth_map": depth_in})
    assert seg.shape == (2, 2, 8, 8) and mask.shape == (2, 1, 8, 8) and mask.max() == 0


def test_dynamic_axes_are_named_and_verified_at_two_sizes(tmp_path):
    b = DesignBuilder("skip")
    x = b.input((3, 16, 16))
    down = b.add("MaxPool2d", x, node_id="pool", kernel_size=2)
    up = b.add("Upsample", down, node_id="up", scale_factor=2.0)
    pad = b.add("PadToMatch", up, x, node_id="pad")
    b.output(b.add("Concat", x, pad, node_id="cat"))
    path = tmp_path / "d.onnx"
    result = export_onnx(b.build(), path, dynamic=("batch", "height", "width"))
    first, second = result.parity
    assert first.shapes == {"x": (1, 3, 16, 16)}
    assert second.shapes == {"x": (2, 3, 9, 9)}  # odd: the padding is exercised
    assert first.ok and second.ok
    model = onnx.load(path)
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "height", "width"]
    assert not set(result.ops) & set(DEBRIS)
    out = ort.InferenceSession(str(path)).run(None, {"x": np.zeros((3, 3, 21, 13), np.float32)})
    assert out[0].shape == (3, 6, 21, 13)


def test_weights_are_in_the_exported_model(tmp_path):
    design = tiny()
    model = designer.build(design, device="cpu")
    generator = torch.Generator().manual_seed(5)
    state = {
        k: torch.rand(v.shape, generator=generator) + 0.5 for k, v in model.state_dict().items()
    }
    state = {k: v.to(model.state_dict()[k].dtype) for k, v in state.items()}
    torch.save(state, tmp_path / "w.pt")
    result = export_onnx(design, tmp_path / "w.onnx", weights=tmp_path / "w.pt")
    assert result.weights == len(state) and result.parity[0].ok
    model.load_state_dict(state)
    x = torch.randn(1, 3, 16, 16)
    want = model.eval()(x).detach().numpy()
    got = ort.InferenceSession(str(tmp_path / "w.onnx")).run(None, {"x": x.numpy()})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_mismatching_weights_export_nothing(tmp_path):
    design = tiny()
    state = designer.build(design, device="cpu").state_dict()
    dropped = sorted(state)[0]
    del state[dropped]
    state["extra.weight"] = torch.zeros(2)
    torch.save(state, tmp_path / "w.pt")
    with pytest.raises(
        ExportError, match="does not fit the design: 1 missing, 1 unexpected"
    ) as info:
        export_onnx(design, tmp_path / "w.onnx", weights=tmp_path / "w.pt")
    assert f"missing: {dropped}\n" in str(info.value)
    assert "unexpected: extra.weight" in str(info.value)
    assert info.value.status == 1
    assert not (tmp_path / "w.onnx").exists()


def test_requested_opset_is_written(tmp_path):
    assert export_onnx(tiny(), tmp_path / "o.onnx", opset=18).opset == 18
    with pytest.raises(ExportError, match="opset 17 is too old"):
        export_onnx(tiny(), tmp_path / "o.onnx", opset=17)


# -- bad input ----------------------------------------------------------------------------------


def test_an_invalid_design_exports_nothing_and_returns_its_issues(tmp_path):
    path = tmp_path / "u.onnx"
    with pytest.raises(ExportError) as info:
        export_onnx(EXAMPLES / "unet.json", path, input_shapes={"x": (1, 3, 8, 8)})
    assert info.value.status == 1
    assert any(i.node == "down4/pool" for i in info.value.report.errors)
    assert not path.exists()


def test_an_unknown_input_name_is_refused(tmp_path):
    with pytest.raises(ExportError, match="no Input named 'img'; inputs: x") as info:
        export_onnx(tiny(), tmp_path / "t.onnx", input_shapes={"img": (1, 3, 8, 8)})
    assert info.value.status == 2


def test_a_missing_folder_is_reported_before_any_work(tmp_path):
    with pytest.raises(ExportError, match=r"folder .*nope.* does not exist; create it") as info:
        export_onnx(tiny(), tmp_path / "nope" / "t.onnx")
    assert info.value.status == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_is_reported(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="no permission to write in folder") as info:
            export_onnx(tiny(), folder / "t.onnx")
        assert info.value.status == 2
    finally:
        folder.chmod(0o700)


def test_permission_denied_while_writing_is_reported(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.raises(ExportError, match="permission denied in folder") as info:
        export_onnx(tiny(), tmp_path / "t.onnx", verify=False)
    assert info.value.status == 2


def test_an_existing_file_survives_a_failed_write_whole(tmp_path, monkeypatch):
    path = tmp_path / "t.onnx"
    path.write_bytes(b"the previous model")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", disk_full)  # the new bytes are half-way to the disk
        with pytest.raises(ExportError, match="No space left on device; an existing file"):
            export_onnx(tiny(), path)
    assert path.read_bytes() == b"the previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["t.onnx"]  # no temporary file left
    export_onnx(tiny(), path, verify=False)
    onnx.checker.check_model(onnx.load(path))


def test_outputs_that_disagree_write_nothing(tmp_path, monkeypatch):
    from designer.interop import export as module

    real = module.session

    class Drifting:
        def __init__(self, payload):
            self.inner = real(payload)

        def run(self, names, feeds):
            return [o + 1e-2 for o in self.inner.run(names, feeds)]

    monkeypatch.setattr(module, "session", Drifting)
    with pytest.raises(ExportError, match="disagrees with torch beyond 1e-04") as info:
        export_onnx(tiny(), tmp_path / "t.onnx")
    (parity,) = info.value.parity
    assert not parity.ok and parity.max_abs == pytest.approx(1e-2, rel=1e-3)
    assert not (tmp_path / "t.onnx").exists()


@pytest.mark.parametrize(
    ("dynamic", "message"),
    [
        (("depth",), "no input has a depth axis"),
        (("time",), "unknown dynamic axis 'time'"),
    ],
)
def test_dynamic_axes_the_input_lacks(tmp_path, dynamic, message):
    with pytest.raises(ExportError, match=message) as info:
        export_onnx(tiny(), tmp_path / "t.onnx", dynamic=dynamic)
    assert info.value.status == 2


def test_a_design_fixed_to_one_size_cannot_have_a_dynamic_height(tmp_path):
    b = DesignBuilder("fixed")
    x = b.input((3, 8, 8))
    flat = b.add("Flatten", x, node_id="flat")
    b.output(b.add("Linear", flat, node_id="fc", out_features=4))
    with pytest.raises(
        ExportError,
        match=r"works only at the given height \(.*weight would be 4x120 instead of 4x192",
    ):
        export_onnx(b.build(), tmp_path / "t.onnx", dynamic=("height",))
    assert not (tmp_path / "t.onnx").exists()


def test_design_hash_follows_the_canonical_json():
    design = tiny()
    before = design_hash(design)
    design.node("conv")["params"]["out_channels"] = 9
    assert design_hash(design) != before


@pytest.mark.parametrize(
    ("block", "shape", "output_size", "message"),
    [
        ("AdaptiveAvgPool3d", (2, 8, 8, 8), 2, "only with output_size 1"),
        ("AdaptiveMaxPool2d", (2, 8, 8), 3, "only when output_size divides"),
    ],
)
def test_blocks_the_exporter_cannot_write_are_refused_by_name(
    block, shape, output_size, message, tmp_path
):
    # found by the random-design ONNX property (tests/test_reliability.py)
    b = designer.DesignBuilder()
    x = b.input(shape)
    b.output(b.add(block, x, node_id="pool", output_size=output_size))
    with pytest.raises(ExportError, match=rf"{block} `pool`: .*{message}"):
        designer.export_onnx(b.build(), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_batch_norm_without_running_stats_on_one_value_is_refused(tmp_path):
    # found by the random-design ONNX property: torch fails tracing a batch of one
    b = designer.DesignBuilder()
    x = b.input((4, 1))
    b.output(b.add("BatchNorm1d", x, node_id="bn", track_running_stats=False))
    design = b.build()
    with pytest.raises(ExportError, match=r"BatchNorm1d `bn`: without running statistics"):
        designer.export_onnx(design, tmp_path / "m.onnx")
    result = designer.export_onnx(design, tmp_path / "m.onnx", input_shapes={"x": (2, 4, 1)})
    assert result.checked


def test_a_dynamic_batch_follows_the_batch_wherever_the_input_puts_it(tmp_path):
    """Sequence-first inputs (T×N×F) and initial states (L×N×H) have the batch at dimension 1."""

    b = DesignBuilder("sequence_first")
    x = b.input((6, "N", 4), node_id="x")
    h0 = b.input((1, "N", 5), node_id="h0")
    out = b.add("GRU", x, h0, node_id="gru", hidden_size=5, batch_first=False)
    b.output(out, node_id="y")
    result = designer.export_onnx(b.build(), tmp_path / "gru.onnx", dynamic=("batch",))
    assert [p.shapes for p in result.parity] == [
        {"x": (6, 1, 4), "h0": (1, 1, 5)},
        {"x": (6, 2, 4), "h0": (1, 2, 5)},
    ]
    assert all(p.ok for p in result.parity)


def test_an_onnxruntime_failure_is_an_export_error(tmp_path, monkeypatch):
    from designer.interop import export as export_module

    class Broken:
        def run(self, *args):
            raise RuntimeError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : bad dims\nmore")

    monkeypatch.setattr(export_module, "session", lambda *a, **k: Broken())
    with pytest.raises(ExportError, match=r"onnxruntime cannot run the exported .* bad dims"):
        designer.export_onnx(load(EXAMPLES / "two_branch.json"), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
