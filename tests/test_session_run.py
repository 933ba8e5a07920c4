"""Running a design for the editor's run panel: worker, cache, statistics, images, previews."""

from __future__ import annotations

import pytest
import torch

from designer import DesignBuilder
from designer.run.session import (
    ModelCache,
    RunFailed,
    RunWorker,
    channels_of,
    fit_square,
    image_tensor,
    preview,
    run_design,
    statistics,
)


def small():
    b = DesignBuilder("small")
    x = b.input((3, 8, 8))
    h = b.add("Conv2d", x, node_id="conv", out_channels=4, padding=1)
    h = b.add("ReLU", h, node_id="relu")
    b.output(b.add("MaxPool2d", h, node_id="pool"))
    return b.build()


def test_run_records_time_and_statistics_per_node():
    result = run_design(ModelCache(), small(), "cpu")
    assert [r.node for r in result.rows] == ["x", "conv", "relu", "pool", "y"]
    relu = result.row("relu")
    assert relu.shape == (1, 4, 8, 8) and relu.min >= 0.0
    tensor = result.outputs["relu"]
    assert relu.max == pytest.approx(tensor.max().item())
    assert relu.std == pytest.approx(tensor.std().item())
    assert all(r.seconds >= 0 for r in result.rows) and result.seconds > 0
    assert set(result.seconds_per_node()) == {"x", "conv", "relu", "pool", "y"}


def test_weights_persist_while_the_design_is_unchanged(tmp_path):
    cache, design = ModelCache(), small()
    first = run_design(cache, design, "cpu")
    again = run_design(cache, design, "cpu")
    assert again.reused_weights and not first.reused_weights
    assert torch.equal(first.outputs["conv"], again.outputs["conv"])  # same seed, same weights
    weights = {k: v.clone() for k, v in cache.model.state_dict().items()}
    design.node("conv")["params"]["out_channels"] = 5
    assert not run_design(cache, design, "cpu").reused_weights
    design.node("conv")["params"]["out_channels"] = 4
    for suffix in (".pt", ".safetensors"):
        cache.model = None
        cache.key = None
        run_design(cache, design, "cpu")
        for k, v in weights.items():
            cache.model.state_dict()[k].copy_(v)
        path = cache.save(tmp_path / f"w{suffix}")
        fresh = ModelCache()
        assert fresh.load(design, "cpu", path) == len(weights)
        for k, v in fresh.model.state_dict().items():
            assert torch.equal(v, weights[k])


def test_weights_of_another_design_are_refused(tmp_path):
    cache = ModelCache()
    run_design(cache, small(), "cpu")
    path = cache.save(tmp_path / "w.pt")
    other = small()
    other.node("conv")["params"]["out_channels"] = 6
    with pytest.raises(RunFailed, match="does not fit"):
        ModelCache().load(other, "cpu", path)


def test_worker_reports_failures_instead_of_raising():
    design = small()
    design.disconnect("pool", "in")
    worker = RunWorker()
    assert worker.start(design, "cpu")
    worker.wait(60)
    assert worker.state == "failed" and "pool" in worker.message
    assert worker.start(small(), "cpu")
    worker.wait(60)
    assert worker.state == "done" and worker.result.row("pool").shape == (1, 4, 4, 4)


def test_image_is_resized_and_adapted_to_the_input():
    rgba = [0.5, 0.25, 1.0, 1.0] * (6 * 4)  # 6 wide, 4 high
    tensor = image_tensor(rgba, 6, 4, 4, (1, 3, 8, 8))
    assert tensor.shape == (1, 3, 8, 8)
    assert torch.allclose(tensor[0, :, 3, 3], torch.tensor([0.5, 0.25, 1.0]))
    grey = image_tensor(rgba, 6, 4, 4, (2, 1, 5, 5))
    assert grey.shape == (2, 1, 5, 5) and grey[0, 0, 0, 0].item() == pytest.approx(0.5833, 1e-3)
    with pytest.raises(RunFailed, match="N, C, H, W"):
        image_tensor(rgba, 6, 4, 4, (1, 10))


def test_preview_maps_a_channel_through_a_colour_map():
    tensor = torch.zeros(1, 2, 3, 4)
    tensor[0, 1, 0, 0] = 1.0
    width, height, pixels = preview(tensor, channel=1, colour_map="gray")
    assert (width, height, len(pixels)) == (4, 3, 4 * 3 * 4)
    assert pixels[:4] == [1.0, 1.0, 1.0, 1.0] and pixels[4:8] == [0.0, 0.0, 0.0, 1.0]
    assert preview(tensor, channel=0)[2][:3] == pytest.approx([0.267, 0.005, 0.329])
    assert preview(torch.arange(6.0)[None], colour_map="gray")[:2] == (6, 1)
    assert channels_of(tensor) == 2 and channels_of(torch.zeros(1, 5)) == 1
    assert statistics(torch.tensor([1.0, 3.0])) == pytest.approx((1.0, 3.0, 2.0, 2**0.5))


def test_fit_square_scales_into_the_texture():
    pixels = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]  # 2 wide, 1 high: red, green
    out = fit_square(2, 1, pixels, 4)
    assert len(out) == 4 * 4 * 4
    assert out[:4] == [1.0, 0.0, 0.0, 1.0] and out[8:12] == [0.0, 1.0, 0.0, 1.0]
    assert out[16 * 2 : 16 * 2 + 4] == [0.0, 0.0, 0.0, 1.0]  # below the image: black


def test_moving_a_node_keeps_the_weights_a_new_label_or_parameter_does_not():
    cache, design = ModelCache(), small()
    model, _ = cache.get(design, "cpu")
    moved = design.copy()
    moved.node("conv")["pos"] = (500.0, -20.0)
    assert cache.get(moved, "cpu") == (model, True)
    relabelled = design.copy()
    relabelled.node("conv")["label"] = "stem"  # labels name the weights
    assert cache.get(relabelled, "cpu")[1] is False
    wider = design.copy()
    wider.node("conv")["params"]["out_channels"] = 8
    assert cache.get(wider, "cpu")[1] is False
