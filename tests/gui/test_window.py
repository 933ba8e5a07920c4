"""The real editor window under Xvfb, driven with the mouse and keyboard (xdotool)."""

from __future__ import annotations

import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest

from designer.core.fileformat import design_to_dict, load, save
from designer.core.graph import Design

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]


def io_file(tmp_path: Path) -> Path:
    """A design with an unwired Input (3×64×64) and Output, far apart."""
    design = Design("mine")
    design.add_node("Input", {"shape": [3, 64, 64]}, node_id="image", pos=(40, 40))
    design.add_node("Output", node_id="result", pos=(720, 40))
    path = tmp_path / "mine.json"
    save(design, path)
    return path


def test_drag_wire_edit_undo_save_then_check(gui, tmp_path):
    path = io_file(tmp_path)
    drive, editor, app = gui, gui.editor, gui.app
    editor.open(path)
    drive.frames(3)

    drive.drag(drive.centre(app.palette.buttons["Conv2d"]), (640, 420))
    assert editor.design.node_ids() == ["image", "result", "conv2d"]
    assert app.inspector.node == "conv2d"  # a dropped block is selected

    drive.wire("image", "out", "conv2d", "in")
    drive.wire("conv2d", "out", "result", "in")
    assert set(editor.design.edges()) == {
        ("image", "out", "conv2d", "in"),
        ("conv2d", "out", "result", "in"),
    }
    assert drive.shape_text("conv2d") == "N×64×62×62"
    assert editor.report.ok
    drive.screenshot("e2e_wired")

    field = app.inspector.fields["out_channels"][0]
    drive.click(drive.centre(field))
    drive.key("ctrl+a")
    drive.type("32")
    drive.key("Return")
    assert editor.design.node("conv2d")["params"] == {"out_channels": 32}
    assert drive.shape_text("conv2d") == "N×32×62×62"
    drive.screenshot("e2e_out_channels_32")

    drive.click((1000, 800))  # empty canvas: the keyboard leaves the field
    drive.key("ctrl+z")
    assert editor.design.node("conv2d")["params"] == {}
    assert drive.shape_text("conv2d") == "N×64×62×62"
    assert "undid Set conv2d.out_channels" in drive.status()
    drive.key("ctrl+shift+z")
    assert drive.shape_text("conv2d") == "N×32×62×62"

    assert editor.dirty and app._shown["title"].startswith("mine.json*")
    drive.key("ctrl+s")
    assert not editor.dirty and app._shown["title"].startswith("mine.json —")
    assert design_to_dict(load(path)) == design_to_dict(editor.design)
    check = subprocess.run(
        [sys.executable, "-m", "designer", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "valid" in check.stdout and "N×32×62×62" in check.stdout


def assert_no_overlap(rects: dict) -> None:
    for (a, ra), (b, rb) in combinations(rects.items(), 2):
        apart = ra[1][0] <= rb[0][0] or rb[1][0] <= ra[0][0] or ra[1][1] <= rb[0][1]
        assert apart or rb[1][1] <= ra[0][1], f"{a} overlaps {b}"


@pytest.mark.parametrize("name", ["unet_bilinear", "resnet", "two_branch"])
def test_other_examples_open_without_overlaps(gui, name):
    gui.editor.open(ROOT / "examples" / f"{name}.json")
    gui.frames(3)
    assert_no_overlap(gui.app.canvas.rects())
    assert gui.editor.report.ok


def test_unet_opens_readable(gui):
    drive, editor = gui, gui.editor
    editor.open(ROOT / "examples" / "unet.json")
    drive.frames(3)
    rects = drive.app.canvas.rects()
    assert set(rects) == set(editor.design.node_ids())
    assert_no_overlap(rects)
    state = __import__("dearpygui.dearpygui").dearpygui.get_item_state(drive.app.canvas_window)
    (x0, y0), (w, h) = state["pos"], state["rect_size"]
    for node_id, ((left, top), (right, bottom)) in rects.items():
        assert x0 <= left and right <= x0 + w and y0 <= top and bottom <= y0 + h, node_id
    for node_id in editor.design.node_ids():
        if node_id != "logits":
            assert "×" in drive.shape_text(node_id), node_id
    assert drive.shape_text("up4") == "N×64×572×572"
    drive.screenshot("e2e_unet")


def test_cost_on_nodes_toggles(gui):
    import dearpygui.dearpygui as dpg

    drive, editor = gui, gui.editor
    editor.open(ROOT / "examples" / "unet.json")
    drive.frames(3)

    def block_line() -> str:
        return dpg.get_value(drive.app.canvas.items["inc"].block)

    assert block_line() == "DoubleConv · 38,848 params"
    drive.app.canvas.show_cost(True)
    drive.frames(2)
    assert block_line() == "DoubleConv · 38,848 params\n12.6 G MACs · 479.3 MiB"
    assert "error" not in drive.status()
    drive.screenshot("e2e_cost_on_nodes")
    drive.app.canvas.show_cost(False)
    drive.frames(2)
    assert block_line() == "DoubleConv · 38,848 params"


def test_cycle_refused_quick_add_menu_delete_and_issue_click(gui):
    drive, editor = gui, gui.editor
    x = editor.add_node("Input", (40, 60), {"shape": [8, 32, 32]})
    first = editor.add_node("ReLU", (260, 60))
    second = editor.add_node("ReLU", (480, 60))
    editor.connect(x, "out", first, "in")
    editor.connect(first, "out", second, "in")
    drive.frames(3)

    drive.wire(second, "out", first, "in")  # would close a loop
    assert editor.design.inputs_of(first) == {"in": (x, "out")}
    assert "would close a loop" in drive.status()

    drive.move((700, 500))
    drive.key("space")
    assert drive.app.quick_add.visible
    drive.type("sigmo")
    drive.key("Return")
    assert editor.design.nodes_of_type("Sigmoid") == ["sigmoid"]
    placed = editor.design.node("sigmoid")["pos"]
    drive.frames(3)
    left, top = drive.app.canvas.rects()["sigmoid"][0]
    assert abs(left - 700) < 40 and abs(top - 500) < 40, (placed, left, top)

    drive.click((760, 700), button=3)  # right click: the context menu at the cursor
    assert drive.app.context_menu.node is None
    import dearpygui.dearpygui as dpg

    assert dpg.is_item_shown(drive.app.context_menu.window)
    drive.key("Escape")
    drive.click((1000, 900))

    issues = drive.app.issues
    row = next(r for r, i in zip(issues.rows, issues.shown, strict=True) if i.node == "sigmoid")
    drive.click(drive.centre(row))
    assert drive.app.canvas.selection == ["sigmoid"] and drive.app.inspector.node == "sigmoid"
    (left, top), (right, bottom) = drive.app.canvas.rects()["sigmoid"]
    cx, cy = drive.app.canvas_centre()
    assert abs((left + right) / 2 - cx) < 4 and abs((top + bottom) / 2 - cy) < 4
    drive.screenshot("e2e_issue_focus")

    drive.click((1000, 900))  # leave the issues list, keep the highlight selection
    drive.app.canvas.select(["sigmoid"])
    drive.key("Delete")
    assert "sigmoid" not in editor.design

    drive.key("ctrl+z")
    assert "sigmoid" in editor.design
    assert editor.design.node("sigmoid")["pos"] == placed


def test_copy_paste_duplicate_and_unsaved_question(gui, tmp_path):
    drive, editor = gui, gui.editor
    editor.open(io_file(tmp_path))
    drive.frames(3)
    drive.app.canvas.select(["image"])
    drive.key("ctrl+c")
    drive.move((900, 600))
    drive.key("ctrl+v")
    assert "image_1" in editor.design
    drive.app.canvas.select(["image_1"])
    drive.key("ctrl+d")
    assert "image_2" in editor.design and drive.app.canvas.selection == ["image_2"]

    drive.key("ctrl+n")  # unsaved work: asked first
    assert drive.app.question.visible and len(editor.design) == 4
    buttons = dpg_children(drive.app.question.buttons)
    drive.click(drive.centre(buttons[1]))  # Discard
    assert len(editor.design) == 0 and not editor.dirty


def test_an_exception_in_a_callback_is_shown_and_the_window_stays(gui, monkeypatch):
    drive, editor = gui, gui.editor
    editor.add_node("Input", (40, 40))

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(editor, "undo", broken)
    drive.click((1000, 800))
    drive.key("ctrl+z")
    assert "internal error: RuntimeError: boom" in drive.status()
    drive.frames(5)
    assert drive.app.running
    drive.screenshot("e2e_error_in_status")


def dpg_children(item: int) -> list[int]:
    import dearpygui.dearpygui as dpg

    return dpg.get_item_children(item, 1)


def test_save_as_and_open_go_through_the_file_dialogs(gui, tmp_path):
    import dearpygui.dearpygui as dpg

    drive, editor, files = gui, gui.editor, gui.app.files
    editor.add_node("Input", (40, 40))
    drive.frames(2)
    drive.click((1200, 900))
    drive.key("ctrl+s")  # no file yet: Save As asks where
    assert dpg.is_item_shown(files.save_dialog) and editor.dirty
    dpg.configure_item(files.save_dialog, show=False)
    files._chosen({"file_path_name": str(tmp_path / "picked.*")})  # what the dialog reports on OK
    drive.frames(3)
    assert (tmp_path / "picked.json").exists() and not editor.dirty
    assert drive.app._shown["title"].startswith("picked.json —")

    editor.add_node("ReLU", (300, 40))
    drive.frames(2)
    drive.key("ctrl+o")  # unsaved work: asked first, then the Open dialog
    assert drive.app.question.visible
    drive.click(drive.centre(dpg_children(drive.app.question.buttons)[1]))  # Discard
    assert dpg.is_item_shown(files.open_dialog)
    dpg.configure_item(files.open_dialog, show=False)
    files._chosen({"file_path_name": str(ROOT / "examples" / "unet.json")})
    drive.frames(3)
    assert len(editor.design) == 12 and editor.path.name == "unet.json" and not editor.dirty
