"""ONNX export of weights over protobuf's 2 GiB limit (a side file, ONNX external data), and of
placed designs (one graph; the placement is ignored and the result says so once).

The limit is a module constant: lowered here, a model of a few kilobytes takes the path a 3 GiB
model takes.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import designer
import designer.interop.target as target_module
from designer import DesignBuilder, export_onnx
from designer.core import placement
from designer.interop import external
from designer.interop.export import PLACEMENT_IGNORED, ExportError


def small_net(tags: dict[str, str] | None = None):
    """x (3x16x16) -> conv (16) -> relu -> conv (8) -> y, optionally placed."""
    b = DesignBuilder("small")
    h = b.input((3, 16, 16), node_id="x")
    h = b.add("Conv2d", h, node_id="c1", out_channels=16, kernel_size=3, padding=1)
    h = b.add("ReLU", h, node_id="r1")
    h = b.add("Conv2d", h, node_id="c2", out_channels=8, kernel_size=3, padding=1)
    b.output(h, node_id="y")
    design = b.build()
    for node_id, tag in (tags or {}).items():
        design.node(node_id)["device"] = tag
    return design


@pytest.fixture
def low_limit(monkeypatch):
    """Any model with more than 1 KiB of weights counts as too large for one file."""
    monkeypatch.setattr(external, "EXTERNAL_LIMIT", 1024)


def test_weights_over_the_limit_go_to_a_side_file_written_atomically(
    tmp_path, low_limit, monkeypatch
):
    written = []
    atomic = target_module.atomic_write
    monkeypatch.setattr(
        target_module, "atomic_write", lambda path, data: (written.append(path), atomic(path, data))
    )
    out, weights_file = tmp_path / "small.onnx", tmp_path / "small.pt"
    model = designer.build(small_net(), "cpu").eval()
    torch.save(model.state_dict(), weights_file)
    result = export_onnx(small_net(), out, weights=weights_file)
    side = tmp_path / "small.onnx.data"
    assert written == [side, out]  # the data first: the model never names a missing file
    assert result.data_path == side and result.data_size == side.stat().st_size
    assert result.checked and all(p.ok for p in result.parity)
    assert result.notes == [external.note(out, result.data_size)]
    assert "small.onnx.data (ONNX external data)" in result.notes[0]
    weights = (16 * 3 * 9 + 16 + 8 * 16 * 9 + 8) * 4
    assert out.stat().st_size < weights < result.data_size  # the tensors left the model file
    onnx.checker.check_model(str(out), full_check=True)  # from disk, the side file found
    runtime = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = torch.randn(1, 3, 16, 16)
    (got,) = runtime.run(None, {"x": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-4, atol=1e-5)


def test_a_model_under_the_limit_is_one_file(tmp_path):
    out = tmp_path / "small.onnx"
    result = export_onnx(small_net(), out)
    assert result.data_path is None and result.notes == []
    assert not (tmp_path / "small.onnx.data").exists()


def test_a_side_file_cannot_go_next_to_a_device(low_limit):
    with pytest.raises(ExportError, match="give a file path") as info:
        export_onnx(small_net(), "/dev/null")
    assert info.value.status == 2


def test_offsets_are_aligned_and_small_tensors_stay_inline():
    model = designer.build(small_net(), "cpu").eval()
    proto = torch.onnx.export(model, (torch.randn(1, 3, 16, 16),), dynamo=True).model_proto
    sizes = {t.name: len(t.raw_data) for t in proto.graph.initializer}
    data = external.externalize(proto, "m.onnx.data")
    for tensor in proto.graph.initializer:
        fields = {e.key: e.value for e in tensor.external_data}
        if sizes[tensor.name] < external.SMALLEST:
            assert not fields and len(tensor.raw_data) == sizes[tensor.name]
            continue
        assert fields["location"] == "m.onnx.data" and int(fields["offset"]) % external.ALIGN == 0
        assert int(fields["length"]) == sizes[tensor.name] and not tensor.raw_data
    assert len(data) >= sum(s for s in sizes.values() if s >= external.SMALLEST)


# -- placement ---------------------------------------------------------------------------------


def test_a_placed_design_exports_as_one_graph_and_says_so_once(tmp_path):
    design = small_net({"x": "0", "c1": "0", "r1": "0", "c2": "1", "y": "1"})
    design.meta["stages"] = ["cpu", "meta"]  # built placed, c2 would hold no data at all
    report = designer.validate(design)
    assert placement.cut_wires(design, report)
    result = export_onnx(design, tmp_path / "placed.onnx")
    assert result.notes == [PLACEMENT_IGNORED]
    assert all(p.ok for p in result.parity)
