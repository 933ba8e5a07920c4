"""The Train tab in the real window: make a shapes set, train, stop, resume, fail, node stats."""

from __future__ import annotations

from pathlib import Path

import pytest

from designer import DesignBuilder
from designer.core.fileformat import save

pytestmark = pytest.mark.gui


def tiny_file(tmp_path: Path, classes: int = 4) -> Path:
    """Input 3x32x32 -> conv -> relu -> head (``classes`` maps) -> Output, saved as tiny.json."""
    b = DesignBuilder("tiny")
    x = b.input((3, 32, 32))
    h = b.add("Conv2d", x, node_id="conv", out_channels=8, padding=1)
    h = b.add("ReLU", h, node_id="relu")
    h = b.add("Conv2d", h, node_id="head", out_channels=classes, padding=1)
    b.output(h)
    design = b.build()
    for i, node in enumerate(design.node_ids()):
        design.node(node)["pos"] = (40 + 200 * i, 60)
    path = tmp_path / "tiny.json"
    save(design, path)
    return path


def open_tab(gui, path: Path, epochs: int):
    """Open ``path``, select the Train tab and fill in the settings."""
    import dearpygui.dearpygui as dpg

    gui.editor.open(path)
    gui.frames(3)
    gui.click(gui.centre(gui.app.train_tab))
    panel = gui.app.train_panel
    for name, value in (("epochs", epochs), ("batch", 4), ("device", "cpu")):
        dpg.set_value(panel.fields[name], value)
    dpg.set_value(panel.out, "")
    return panel


def make_shapes(gui, panel) -> Path:
    import dearpygui.dearpygui as dpg

    dpg.set_value(panel.shapes_n, 16)
    dpg.set_value(panel.shapes_size, 32)
    panel.make_shapes()
    gui.until(lambda: panel.shapes is None, 30)
    return Path(dpg.get_value(panel.data))


def test_make_shapes_train_and_hand_over_weights(gui, tmp_path):
    import dearpygui.dearpygui as dpg
    import torch
    from safetensors.torch import load_file

    from designer.train.session import TrainJob

    app = gui.app
    panel = open_tab(gui, tiny_file(tmp_path), epochs=2)
    assert not dpg.get_item_configuration(panel.stop_button)["enabled"]
    data = make_shapes(gui, panel)
    assert data == tmp_path / "tiny.shapes" and (data / "dataset.json").is_file()
    gui.click(gui.centre(panel.show_stats))  # node statistics, then after every epoch
    gui.click(gui.centre(panel.start_button))  # it may wait for the statistics to finish
    gui.until(lambda: panel.job and panel.job.state == "done" and not panel.pending_weights, 40)
    assert panel.points == 2
    assert len(dpg.get_value(panel.metric_series)[0]) == 2
    assert "mIoU" in dpg.get_value(panel.state) and not dpg.is_item_shown(panel.error)
    assert (tmp_path / "tiny.train" / "metrics.jsonl").is_file()
    picture = dpg.get_value(panel.textures["prediction"])
    assert dpg.is_item_shown(panel.pictures["prediction"]) and max(picture) > 0
    assert dpg.get_item_configuration(panel.resume_button)["enabled"]
    gui.until(lambda: panel.probing is None and set(panel.overlay.items) >= {"conv", "relu"}, 30)
    assert dpg.get_value(panel.overlay.items["conv"][2]).startswith("∇W")
    assert "% 0" in dpg.get_value(panel.overlay.items["relu"][2])
    gui.screenshot("train_tab")

    options = panel.job.options  # the overlay did not disturb training: same losses headless
    default = type(options).__dataclass_fields__["lr"].default
    assert options.lr == default  # the form keeps the exact default (no float32 rounding)
    alone = TrainJob(panel.job.design, type(options)(**{**vars(options), "out": str(tmp_path)}))
    alone.start()
    alone.join()
    assert [r["train_loss"] for r in alone.metrics] == [r["train_loss"] for r in panel.rows]

    weights = load_file(str(panel.job.weights))  # Run now holds the trained weights
    model = app.run_panel.worker.cache.model
    assert all(torch.equal(v.cpu(), weights[k]) for k, v in model.state_dict().items())
    assert dpg.get_value(app.export_dialog.weights) == str(panel.job.weights)
    gui.click(gui.centre(panel.show_stats))
    gui.frames(2)
    assert not panel.overlay.items


def test_stop_then_resume(gui, tmp_path):
    import dearpygui.dearpygui as dpg

    panel = open_tab(gui, tiny_file(tmp_path), epochs=200)
    make_shapes(gui, panel)
    gui.click(gui.centre(panel.start_button))
    gui.until(lambda: len(panel.rows) >= 1, 30)
    assert dpg.get_item_configuration(panel.stop_button)["enabled"]
    gui.click(gui.centre(panel.stop_button))
    gui.until(lambda: panel.job.state == "stopped", 30)
    stopped = len(panel.rows)
    assert 1 <= stopped < 200 and "Resume" in dpg.get_value(panel.state)
    assert dpg.get_item_configuration(panel.resume_button)["enabled"]

    dpg.set_value(panel.fields["epochs"], stopped + 1)
    gui.click(gui.centre(panel.resume_button))
    gui.until(lambda: panel.job.state == "done", 30)
    assert panel.points == stopped + 1  # the earlier epochs are kept


def test_failure_is_shown_and_kept(gui, tmp_path):
    import dearpygui.dearpygui as dpg

    panel = open_tab(gui, tiny_file(tmp_path, classes=2), epochs=2)
    make_shapes(gui, panel)  # 4 classes, the model gives 2
    gui.click(gui.centre(panel.start_button))
    gui.until(lambda: panel.job.state == "failed", 30)
    gui.frames(5)
    message = dpg.get_value(panel.error)
    assert dpg.is_item_shown(panel.error) and "training failed" in message
    assert "head" in message and "4" in message
    assert dpg.get_item_configuration(panel.start_button)["enabled"]
    assert gui.app.running


def test_weights_follow_the_model_not_the_layout(tmp_path):
    from designer.core.fileformat import load
    from designer.train.overlay import same_model

    design = load(tiny_file(tmp_path))
    moved = design.copy()
    moved.node("conv")["pos"] = (500, 500)
    assert same_model(design, moved)
    wider = design.copy()
    wider.node("conv")["params"]["out_channels"] = 16
    assert not same_model(design, wider)
