"""More of the window under Xvfb: selection, moving, renaming, search, autosave, recovery, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]


def three_relus(editor) -> list[str]:
    x = editor.add_node("Input", (40, 60), {"shape": [8, 32, 32]})
    a = editor.add_node("ReLU", (260, 60))
    b = editor.add_node("ReLU", (260, 260))
    editor.connect(x, "out", a, "in")
    editor.connect(x, "out", b, "in")
    return [x, a, b]


def title_bar(drive, node_id: str) -> tuple[float, float]:
    (left, top), (right, _) = drive.app.canvas.rects()[node_id]
    return ((left + right) / 2, top + 10)


def test_drag_moves_nodes_as_one_undo_step(gui):
    drive, editor = gui, gui.editor
    _, a, _ = three_relus(editor)
    drive.frames(3)
    steps = len(editor.history.undo_stack)
    start = editor.design.node(a)["pos"]
    grab = title_bar(drive, a)
    drive.drag(grab, (grab[0] + 200, grab[1] + 120))
    moved = editor.design.node(a)["pos"]
    assert abs(moved[0] - start[0] - 200) <= 2 and abs(moved[1] - start[1] - 120) <= 2
    assert len(editor.history.undo_stack) == steps + 1
    drive.key("ctrl+z")
    assert editor.design.node(a)["pos"] == start
    assert tuple(drive.app.canvas.rects()[a][0]) != ()


def test_box_select_and_ctrl_click_select_several(gui):
    drive, editor = gui, gui.editor
    x, a, b = three_relus(editor)
    drive.frames(3)
    rects = drive.app.canvas.rects()
    corner = (min(r[0][0] for r in rects.values()) - 20, min(r[0][1] for r in rects.values()) - 30)
    far = (max(r[1][0] for n, r in rects.items() if n != x) + 20, rects[b][1][1] + 20)
    drive.drag((rects[a][0][0] - 30, corner[1]), far)
    assert sorted(drive.app.canvas.selection) == sorted([a, b])
    assert drive.app.inspector.node is None  # several nodes: no single inspector

    drive.click((1200, 900))
    drive.click(title_bar(drive, x))
    drive.xdo("keydown", "ctrl")
    drive.click(title_bar(drive, b))
    drive.xdo("keyup", "ctrl")
    drive.frames(3)
    assert sorted(drive.app.canvas.selection) == sorted([x, b])
    drive.key("Delete")
    assert editor.design.node_ids() == [a]
    drive.key("ctrl+z")
    assert len(editor.design) == 3 and len(list(editor.design.edges())) == 2


def test_rename_with_f2_and_palette_search(gui):
    drive, editor = gui, gui.editor
    _, a, _ = three_relus(editor)
    drive.frames(3)
    drive.click(title_bar(drive, a))
    drive.key("F2", "ctrl+a")
    drive.type("gate")
    drive.key("Return")
    assert editor.design.node(a)["label"] == "gate"
    import dearpygui.dearpygui as dpg

    assert dpg.get_item_label(drive.app.canvas.ids.node_item[a]) == "gate"

    drive.click(drive.centre(drive.app.palette.search))
    drive.type("pool2")
    shown = [n for n, b in drive.app.palette.buttons.items() if dpg.is_item_shown(b)]
    assert sorted(shown) == ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "MaxPool2d"]
    drive.screenshot("e2e_palette_search")
    drive.key("ctrl+a", "BackSpace")
    assert all(dpg.is_item_shown(b) for b in drive.app.palette.buttons.values())


def test_invalid_value_is_refused_in_the_inspector(gui):
    drive, editor = gui, gui.editor
    x = editor.add_node("Input", (40, 60), {"shape": [3, 16, 16]})
    pool = editor.add_node("MaxPool2d", (300, 60))
    editor.connect(x, "out", pool, "in")
    drive.frames(3)
    drive.click(title_bar(drive, x))
    field = drive.app.inspector.fields["shape"][0]
    drive.click(drive.centre(field))
    drive.key("ctrl+a")
    drive.type("3, 0, 16")
    drive.key("Return")
    assert "input: shape must be a list of 1 to 5" in drive.status()
    assert tuple(editor.design.node(x)["params"]["shape"]) == (3, 16, 16)
    import dearpygui.dearpygui as dpg

    assert dpg.get_value(field) == "3, 16, 16"


def test_autosave_and_recovery_offer(gui, tmp_path):
    drive, editor = gui, gui.editor
    saver = editor.autosaver
    saver.interval = 0.0
    editor.add_node("Input", (40, 40))
    time.sleep(1.05)
    drive.frames(2)
    assert saver.file.exists()
    data = json.loads(saver.file.read_text())
    assert [n["id"] for n in data["design"]["nodes"]] == ["input"]

    orphan = saver.folder / "recovery-999999999.json"  # a process that cannot exist
    saver.file.rename(orphan)
    editor.new()
    drive.frames(2)
    drive.app._offer_recovery()
    drive.frames(3)
    assert drive.app.question.visible
    import dearpygui.dearpygui as dpg

    recover = dpg.get_item_children(drive.app.question.buttons, 1)[0]
    drive.click(drive.centre(recover))
    assert editor.design.node_ids() == ["input"] and editor.dirty
    assert not orphan.exists()
    saver.interval = 30.0
    saver.start_over()


def focus_when_mapped(window, tries=50):
    """Focus a window once the X server has mapped it (focus before that is BadMatch)."""
    for _ in range(tries):
        if subprocess.run(["xdotool", "windowfocus", "--sync", window]).returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"window {window} never took the focus")


def test_designer_gui_command_opens_a_window_and_quits(gui, tmp_path):
    path = tmp_path / "fresh.json"
    env = {**os.environ, "DESIGNER_RECOVERY_DIR": str(tmp_path / "rec")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "designer", "gui", str(path), "--size", "900x600"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        found = subprocess.run(
            ["xdotool", "search", "--sync", "--onlyvisible", "--name", "fresh.json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        window = found.stdout.split()[0]
        focus_when_mapped(window)
        for _ in range(15):  # a key sent before the first frame is lost: send until it quits
            subprocess.run(["xdotool", "key", "--window", window, "ctrl+q"], check=True)
            try:
                proc.wait(timeout=2)
                break
            except subprocess.TimeoutExpired:
                continue
        assert proc.wait(timeout=5) == 0, proc.stdout.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not path.exists()  # nothing was drawn, so nothing was saved


def test_select_a_wire_and_delete_it_or_drag_it_off_its_input(gui):
    drive, editor = gui, gui.editor
    x, a, b = three_relus(editor)
    drive.frames(3)
    start, end = drive.pin(x, "out", True), drive.pin(a, "in", False)
    drive.click(((start[0] + end[0]) / 2, (start[1] + end[1]) / 2))
    assert drive.app.canvas.selected_wires() == [(a, "in")]
    drive.key("Delete")
    assert editor.design.inputs_of(a) == {}
    drive.key("ctrl+z")
    assert editor.design.inputs_of(a) == {"in": (x, "out")}

    drive.xdo("keydown", "ctrl")
    drive.drag(drive.pin(b, "in", False), (700, 700))  # Ctrl+drag pulls the wire off
    drive.xdo("keyup", "ctrl")
    drive.frames(3)
    assert editor.design.inputs_of(b) == {}
    assert editor.history.top().label == "Delete wire"


def test_issue_tooltip_on_a_red_node(gui):
    drive, editor = gui, gui.editor
    editor.add_node("Conv2d", (300, 200))
    drive.frames(3)
    text = drive.app.canvas.items["conv2d"].block
    drive.move(drive.centre(text))
    drive.frames(30)
    import dearpygui.dearpygui as dpg

    tip = drive.app.canvas.items["conv2d"].tip
    assert "input in is not connected" in dpg.get_value(dpg.get_item_children(tip, 1)[0])
    assert dpg.is_item_visible(tip) or dpg.is_item_shown(tip)
    drive.screenshot("e2e_issue_tooltip")
