"""Regression tests, in the real window, for the bugs of issue 15 (B1 to B12, the Code tab's Save).

B9 (ungroup keeps ids and positions) and B10 (Save As names the design) are also tested headless
in tests/test_grouping.py and tests/test_editor_daily.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from designer.core.fileformat import design_to_dict, save
from designer.core.graph import Design

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]


def dpg():
    import dearpygui.dearpygui as module

    return module


def inside_canvas(app, rect) -> bool:
    (x0, y0), (w, h) = app.camera.area()
    (left, top), (right, bottom) = rect
    return x0 <= left and right <= x0 + w and y0 <= top and bottom <= y0 + h


def pan(drive, by: tuple[float, float], times: int) -> None:
    """Middle-drag the node editor ``times`` times by ``by`` (its own pan, unknown to us)."""
    for _ in range(times):
        drive.move((700, 500))
        drive.xdo("mousedown", 2)
        drive.frames(2)
        for step in range(1, 6):
            drive.xdo("mousemove", round(700 + by[0] * step / 5), round(500 + by[1] * step / 5))
            drive.frames(1)
        drive.xdo("mouseup", 2)
        drive.frames(2)


def test_b1_blocks_land_on_screen_after_new_and_open_from_a_panned_view(gui, tmp_path):
    drive, editor, app = gui, gui.editor, gui.app
    editor.open(ROOT / "examples" / "unet.json")
    drive.frames(3)
    pan(drive, (-450, -300), 4)  # the design is far off the canvas now
    assert not any(inside_canvas(app, r) for r in app.canvas.rects().values())
    drive.key("ctrl+n")
    drive.click(drive.centre(app.palette.buttons["ReLU"]))
    drive.frames(4)
    rect = app.canvas.rects()["relu"]
    assert inside_canvas(app, rect), rect
    centre = app.camera.centre()
    assert abs((rect[0][0] + rect[1][0]) / 2 - centre[0]) < 80

    pan(drive, (450, 300), 3)
    app.open_path(ROOT / "examples" / "unet_bilinear.json")  # open fits the design
    drive.frames(4)
    assert app.canvas.view.mode != "overview"
    assert all(inside_canvas(app, r) for r in app.canvas.rects().values())
    app.open_path(ROOT / "examples" / "resnet.json")  # long: fitted as an overview
    drive.frames(4)
    assert app.canvas.view.mode == "overview" and app.camera.on_screen(editor.design.node_ids())


def unknown_type_file(tmp_path: Path) -> Path:
    design = Design("odd")
    design.add_node("Input", {"shape": [3, 8, 8]}, node_id="x", pos=(40, 40))
    design.add_node("ReLU", node_id="mystery", pos=(300, 40))
    design.connect("x", "out", "mystery", "in")
    data = design_to_dict(design)
    for node in data["nodes"]:
        if node["id"] == "mystery":
            node["type"] = "Frobnicate"
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(data))
    return path


def test_b2_a_node_of_an_unknown_type_is_shown_and_nothing_fails(
    gui, tmp_path, caplog, monkeypatch
):
    drive, editor, app = gui, gui.editor, gui.app
    editor.open(unknown_type_file(tmp_path))
    drive.frames(3)
    saves = []
    monkeypatch.setattr(editor, "autosave_if_due", lambda now: saves.append(now))
    caplog.set_level(logging.ERROR, logger="designer.gui")
    drive.click(drive.centre(app.canvas.ids.node_item["mystery"]))
    drive.frames(3)
    app._last_autosave_check = 0.0
    drive.frames(30)
    assert app.inspector.node == "mystery"
    assert "Frobnicate" in drive.status() or "internal error" not in drive.status()
    assert not [r for r in caplog.records if r.name == "designer.gui"]  # nothing logged
    assert app.inspector.label_field is not None  # the inspector is not blank
    assert saves  # autosave still runs
    editor.rename("mystery", "keep")
    drive.frames(2)
    assert editor.design.node("mystery")["label"] == "keep"


def test_b2_an_error_every_frame_is_logged_once(gui, caplog, monkeypatch):
    drive, app = gui, gui.app
    caplog.set_level(logging.ERROR, logger="designer.gui")

    def broken() -> None:
        raise RuntimeError("every frame")

    monkeypatch.setattr(app.breadcrumb, "poll", broken)
    saves = []
    monkeypatch.setattr(gui.editor, "autosave_if_due", lambda now: saves.append(now))
    app._last_autosave_check = 0.0
    drive.frames(20)
    assert len([r for r in caplog.records if "every frame" in r.getMessage()]) <= 1
    assert "internal error: RuntimeError: every frame" in drive.status()
    assert saves  # the other parts of the frame go on


def test_b3_quick_add_keeps_letters_typed_at_once(gui):
    drive, editor, app = gui, gui.editor, gui.app
    drive.move((700, 500))
    drive.xdo("key", "space", "type", "sigmo")  # no frame between the keys
    drive.frames(12)
    assert app.quick_add.visible
    assert dpg().get_value(app.quick_add.input) == "sigmo"
    drive.key("Return")
    assert editor.design.nodes_of_type("Sigmoid") == ["sigmoid"]


def test_b4_inspector_and_status_follow_deletes_and_leaving_a_block(gui, tmp_path):
    drive, editor, app = gui, gui.editor, gui.app
    a = editor.add_node("ReLU", (40, 40))
    b = editor.add_node("ReLU", (300, 40))
    drive.frames(3)
    app.select([a, b])
    drive.frames(2)
    assert app.inspector.nodes == [a, b]
    drive.click((1000, 800))
    app.select([a, b])
    drive.key("Delete")
    assert len(editor.design) == 0
    assert app.inspector.nodes == [] and app.inspector.node is None

    x = editor.add_node("Input", (40, 40), {"shape": [3, 8, 8]})
    c = editor.add_node("ReLU", (300, 40))
    editor.connect(x, "out", c, "in")
    instance = editor.group([c], "Bottom")
    drive.frames(2)
    app.select([instance])
    app.open_block()
    drive.frames(2)
    assert "editing Bottom" in drive.status()
    editor.leave(0)  # the breadcrumb's first button
    drive.frames(3)
    assert "editing Bottom" not in drive.status()


def test_b5_the_preview_caption_shows_the_channel_statistics(gui, tmp_path):
    from designer import DesignBuilder

    drive, editor, app = gui, gui.editor, gui.app
    b = DesignBuilder("two")
    x = b.input((2, 8, 8))
    b.output(b.add("Conv2d", x, node_id="conv", out_channels=4))
    path = tmp_path / "two.json"
    save(b.build(), path)
    editor.open(path)
    drive.frames(3)
    drive.click(drive.centre(app.run_tab))
    dpg().set_value(app.run_panel.device, "cpu")
    drive.click(drive.centre(app.run_panel.button))
    worker = app.run_panel.worker
    drive.until(lambda: not worker.busy and worker.state in ("done", "failed"))
    assert worker.state == "done" and "conv" in worker.result.outputs, worker.message
    app.run_panel.show("conv")
    dpg().set_value(app.run_panel.channel, 2)
    app.run_panel.redraw()
    channel = app.run_panel.worker.result.outputs["conv"][0, 2]
    caption = dpg().get_value(app.run_panel.caption)
    assert f"min {channel.min().item():.3g} max {channel.max().item():.3g}" in caption
    whole = app.run_panel.worker.result.row("conv")
    assert f"min {whole.min:.3g} max {whole.max:.3g}" not in caption


def test_b6_an_out_of_range_value_from_a_file_is_shown_as_it_is(gui, tmp_path):
    drive, editor, app = gui, gui.editor, gui.app
    design = Design("bad")
    design.add_node("Input", {"shape": [3, 8, 8]}, node_id="x", pos=(40, 40))
    design.add_node("Conv2d", {"out_channels": -3}, node_id="conv", pos=(300, 40))
    design.connect("x", "out", "conv", "in")
    path = tmp_path / "bad.json"
    save(design, path)
    editor.open(path)
    drive.frames(3)
    app.select(["conv"])
    drive.frames(2)
    item, kind = app.inspector.fields["out_channels"]
    assert kind == "text" and dpg().get_value(item) == "-3"
    editor.set_param("conv", "out_channels", 16)  # fixed: a number field again
    drive.frames(2)
    item, kind = app.inspector.fields["out_channels"]
    assert kind == "int" and dpg().get_value(item) == 16


def test_b7_escape_closes_the_context_menu(gui):
    drive, app = gui, gui.app
    drive.click((760, 600), button=3)
    assert app.context_menu.visible
    drive.key("Escape")
    assert not app.context_menu.visible


def test_b8_quick_add_stays_inside_the_window(gui):
    drive, app = gui, gui.app
    app.quick_add.open((1590.0, 990.0), (0.0, 0.0))
    drive.frames(3)
    x, y = dpg().get_item_pos(app.quick_add.window)
    w, h = dpg().get_item_rect_size(app.quick_add.window)
    assert x + w <= 1600 and y + h <= 1000 and x >= 0 and y >= 0
    drive.key("Escape")
    assert not app.quick_add.visible


def test_b10_save_as_names_the_design(gui, tmp_path):
    drive, editor, app = gui, gui.editor, gui.app
    editor.add_node("Input", (40, 40))
    drive.frames(2)
    app.files._then = lambda path: None
    app.save_as()
    app.files._chosen({"file_path_name": str(tmp_path / "encoder.json")})
    drive.frames(3)
    assert editor.root.name == "encoder" and app.breadcrumb.shown == ["encoder"]
    assert app.settings.recent()[0] == (tmp_path / "encoder.json").resolve()


def test_b11_a_quick_ctrl_chord_is_read_from_its_own_key_events(gui):
    drive, editor, app = gui, gui.editor, gui.app
    editor.add_node("ReLU", (40, 40))
    drive.frames(2)
    key = dpg()
    # What a frame's callbacks report for Ctrl+Z when Ctrl is already up when they run:
    app.keys.press(key.mvKey_LControl)
    app.keys.press(key.mvKey_Z)
    app.keys.release(key.mvKey_LControl)
    app.dispatch_keys()
    assert len(editor.design) == 0 and "undid Add ReLU" in drive.status()
    # Shift+Tab arrives as Tab then Shift (key-code order): still Shift+Tab.
    assert app.keys.take(False, False) == []
    app.keys.press(key.mvKey_Tab)
    app.keys.press(key.mvKey_LShift)
    assert app.keys.take(False, False) == [(False, True, key.mvKey_Tab)]
    drive.xdo("keydown", "ctrl", "keydown", "y", "keyup", "y", "keyup", "ctrl")
    drive.frames(4)
    assert len(editor.design) == 1  # redone by a real, quick Ctrl+Y


def test_code_tab_save_writes_the_generated_code(gui, tmp_path):
    drive, editor, app = gui, gui.editor, gui.app
    editor.open(ROOT / "examples" / "two_branch.json")
    drive.click(drive.centre(app.code_tab))
    drive.until(lambda: not app.code.busy and app.code.source.startswith(("import", '"', "#")))
    callback = dpg().get_item_callback(app.code.dialog)
    callback(app.code.dialog, {"file_path_name": str(tmp_path / "model.*")}, None)
    written = (tmp_path / "model.py").read_text(encoding="utf-8")
    assert written == app.code.source and "class " in written
    assert "generated code saved to" in drive.status()
