"""Daily use in the real window: expanding a block in place, recent files, UI scale, the Run
tab's input size, messages that expire, and a side panel that can be made wider."""

from __future__ import annotations

from pathlib import Path

import pytest

from designer import DesignBuilder
from designer.core.fileformat import save

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]


def dpg():
    import dearpygui.dearpygui as module

    return module


def test_expand_a_block_in_place_and_collapse_it(gui):
    drive, editor, app = gui, gui.editor, gui.app
    editor.open(ROOT / "examples" / "unet.json")
    drive.frames(3)
    drive.click((1000, 800))
    app.select(["up1"])
    drive.key("e")
    inner = sorted(editor.expanded_nodes())
    assert "up1" not in editor.design and inner and editor.report.ok
    assert set(app.canvas.selection) == set(inner)
    assert all(app.canvas.items[n].theme is not None for n in inner)
    assert "expanded up1 in place" in drive.status()
    app.select(inner[:1])
    drive.frames(2)
    assert app.inspector.node == inner[0]
    app.fit_all()
    drive.frames(4)
    drive.screenshot("expanded_block")
    drive.key("e")
    assert "up1" in editor.design and not editor.expanded_nodes()
    assert "collapsed up1" in drive.status()


def test_open_recent_lists_opened_and_saved_files(gui, tmp_path):
    drive, editor, app = gui, gui.editor, gui.app
    app.open_path(ROOT / "examples" / "two_branch.json")
    drive.frames(2)
    recent = app.settings.recent()
    assert recent[0] == (ROOT / "examples" / "two_branch.json").resolve()
    items = dpg().get_item_children(app.recent_menu, 1)
    labels = [dpg().get_item_label(i) for i in items]
    assert labels[0] == "two_branch.json"
    editor.new()
    drive.frames(2)
    dpg().get_item_callback(items[0])(items[0], None, dpg().get_item_user_data(items[0]))
    drive.frames(3)
    assert editor.path.name == "two_branch.json"


def test_ui_scale_is_applied_and_remembered(gui):
    drive, app = gui, gui.app
    app.set_ui_scale(1.5)
    drive.frames(3)
    assert app.settings.get("ui_scale", 1.0) == 1.5
    assert dpg().get_value(app.scale_items[1.5]) and not dpg().get_value(app.scale_items[1.0])
    drive.screenshot("ui_scale_150")
    app.set_ui_scale(1.0)
    drive.frames(2)
    assert app.settings.get("ui_scale", 0.0) == 1.0


def test_run_tab_runs_at_the_input_size_asked_for(gui, tmp_path):
    drive, editor, app = gui, gui.editor, gui.app
    b = DesignBuilder("sized")
    b.output(b.add("ReLU", b.input((2, 8, 8)), node_id="act"))
    path = tmp_path / "sized.json"
    save(b.build(), path)
    editor.open(path)
    drive.frames(2)
    panel = app.run_panel
    dpg().set_value(panel.device, "cpu")
    dpg().set_value(panel.size, "2x24x16")
    app.run_model()
    drive.until(lambda: not panel.worker.busy and panel.worker.result is not None)
    assert tuple(panel.worker.result.outputs["act"].shape) == (1, 2, 24, 16)
    assert editor.design.node("x")["params"]["shape"] == [2, 8, 8]  # the design is unchanged
    dpg().set_value(panel.size, "3x0x5")
    app.guard(lambda *_: app.run_model())()
    drive.frames(2)
    assert "input size" in drive.status()
    dpg().set_value(panel.size, "")


def test_messages_expire_but_problems_stay_in_the_log(gui, monkeypatch):
    from designer.gui.theme import WARNING

    drive, app = gui, gui.app
    line = app.status_line
    now = [1000.0]
    monkeypatch.setattr(line, "clock", lambda: now[0])
    app.say("copied 3 nodes")
    now[0] += 7.0
    drive.frames(2)
    assert drive.status() == "Ready."
    app.say("select the nodes to group first", WARNING)
    now[0] += 7.0
    drive.frames(2)
    assert drive.status() == "select the nodes to group first"  # problems last longer
    now[0] += 10.0
    drive.frames(2)
    assert drive.status() == "Ready."
    assert app.issues.entries[0].endswith("select the nodes to group first")
    app.issues.clear_log()
    assert app.issues.entries == []


def test_the_side_panel_can_be_made_wider(gui):
    drive, app = gui, gui.app
    before = app.side_width
    x, y = drive.centre(app.splitter)
    drive.drag((x, y), (x - 200, y), steps=8)
    assert app.side_width - before == pytest.approx(200, abs=12)
    (cx, _), (width, _) = app.camera.area()
    assert cx + width <= x - 190
    x, y = drive.centre(app.splitter)
    drive.drag((x, y), (x + 200, y), steps=8)
    assert app.side_width == pytest.approx(before, abs=12)
