"""Navigating a large design in the real window: zoom, fit, the overview, the minimap, Find,
where new blocks land, and a window that costs nothing while idle."""

from __future__ import annotations

import time
from itertools import combinations

import pytest

from designer.core.layout import auto_layout

pytestmark = pytest.mark.gui


def dpg():
    import dearpygui.dearpygui as module

    return module


def relu_chain(editor, n: int) -> list[str]:
    """Input -> n-1 ReLUs, laid out in one long row."""
    nodes = [editor.add_node("Input", (0, 0), {"shape": [4, 8, 8]})]
    for _ in range(n - 1):
        nodes.append(editor.add_node("ReLU", (0, 0)))
        editor.connect(nodes[-2], "out", nodes[-1], "in")
    auto_layout(editor.design)
    return nodes


def apart(rects: dict) -> bool:
    for a, b in combinations(rects.values(), 2):
        if not (
            a[1][0] <= b[0][0] or b[1][0] <= a[0][0] or a[1][1] <= b[0][1] or b[1][1] <= a[0][1]
        ):
            return False
    return True


def on_canvas(app, rect) -> bool:
    (x0, y0), (w, h) = app.camera.area()
    return x0 <= rect[0][0] and rect[1][0] <= x0 + w and y0 <= rect[0][1] and rect[1][1] <= y0 + h


def test_f_fits_a_300_node_chain_and_shift_f_the_selection(gui):
    drive, editor, app = gui, gui.editor, gui.app
    nodes = relu_chain(editor, 300)
    drive.frames(3)
    drive.click((1000, 800))
    drive.key("f")
    assert app.canvas.view.mode == "overview" and app.camera.on_screen(nodes)
    drive.frames(2)
    drive.screenshot("chain_300_fitted")
    app.select(nodes[100:103])
    drive.key("shift+f")
    assert app.canvas.view.mode == "full" and app.camera.on_screen(nodes[100:103])
    assert all(on_canvas(app, app.canvas.rects()[n]) for n in nodes[100:103])
    drive.key("1")
    assert app.canvas.view.zoom == 1.0


def test_the_overview_selects_on_click_and_zooms_in_on_double_click(gui):
    drive, editor, app = gui, gui.editor, gui.app
    nodes = relu_chain(editor, 120)
    drive.frames(3)
    app.fit_all()
    drive.frames(3)
    assert app.camera.overview.shown
    target = nodes[60]
    box = app.camera.scene().box_of(target)
    point = app.camera.to_screen((box.pos[0] + box.size[0] / 2, box.pos[1] + box.size[1] / 2))
    drive.click(point)
    assert app.canvas.selection == [target] and app.inspector.node == target
    drive.move(point)
    drive.xdo("click", "--repeat", "2", "--delay", "60", "1")
    drive.frames(6)
    assert app.canvas.view.zoom == 1.0 and not app.camera.overview.shown
    assert on_canvas(app, app.canvas.rects()[target])


def test_find_selects_and_centres_the_match(gui):
    drive, editor, app = gui, gui.editor, gui.app
    nodes = relu_chain(editor, 60)
    editor.rename(nodes[42], "bottleneck")
    drive.frames(3)
    drive.click((1000, 800))
    drive.key("ctrl+f")
    assert app.find.visible
    drive.type("bottle")
    assert app.canvas.selection == [nodes[42]]
    (left, top), (right, bottom) = app.canvas.rects()[nodes[42]]
    cx, cy = app.camera.centre()
    assert abs((left + right) / 2 - cx) < 6 and abs((top + bottom) / 2 - cy) < 6
    drive.key("ctrl+a")  # in the field: selects its text (not every node)
    drive.type("relu_1")
    assert len(app.find.matches) == 11 and app.canvas.selection == ["relu_1"]
    drive.key("Return")  # the next match
    assert app.canvas.selection == ["relu_10"]
    drive.key("shift+Return")
    assert app.canvas.selection == ["relu_1"]
    drive.key("Escape")
    assert not app.find.visible


def test_minimap_is_on_and_a_click_in_it_moves_the_view(gui):
    drive, editor, app = gui, gui.editor, gui.app
    nodes = relu_chain(editor, 40)
    drive.frames(3)
    app.camera.centre_on(nodes[0], 1.0)
    drive.frames(3)
    minimap = app.camera.minimap
    assert minimap.shown and app.minimap_on
    box = app.camera.scene().box_of(nodes[-1])
    x, y = dpg().get_item_state(minimap.drawlist)["rect_min"]
    spot = minimap.view.grid(box.pos)
    drive.click((x + spot[0] + 1, y + spot[1] + 1))
    drive.frames(3)
    assert app.camera.on_screen([nodes[-1]])


def test_new_blocks_land_on_screen_and_never_on_a_node(gui):
    drive, editor, app = gui, gui.editor, gui.app
    for _ in range(3):
        drive.click(drive.centre(app.palette.buttons["Conv2d"]))
    drive.frames(3)
    app.select(editor.design.node_ids()[:1])
    drive.move((700, 400))
    drive.key("ctrl+c")
    drive.key("ctrl+v", "ctrl+v")
    app.select(editor.design.node_ids()[-1:])
    drive.key("ctrl+d")
    drive.frames(3)
    rects = app.canvas.rects()
    assert len(rects) == 6 and apart(rects)
    assert all(on_canvas(app, r) for r in rects.values())


def test_keys_select_all_nudge_cycle_and_escape(gui):
    drive, editor, app = gui, gui.editor, gui.app
    nodes = relu_chain(editor, 4)
    drive.frames(3)
    drive.click((1000, 800))
    drive.key("ctrl+a")
    assert app.canvas.selection == nodes
    start = [editor.design.node(n)["pos"] for n in nodes]
    drive.key("Right", "shift+Down")
    moved = [editor.design.node(n)["pos"] for n in nodes]
    assert all(m == (s[0] + 10, s[1] + 50) for s, m in zip(start, moved, strict=True))
    drive.key("Escape")
    assert app.canvas.selection == []
    drive.key("Tab")
    assert app.canvas.selection == [nodes[0]]
    drive.key("Tab", "Tab", "shift+Tab")
    assert app.canvas.selection == [nodes[1]]
    drive.key("F1")
    assert app.help.visible
    drive.key("Escape")
    assert not app.help.visible


def test_a_wire_dropped_on_empty_canvas_adds_a_wired_block(gui):
    drive, editor, app = gui, gui.editor, gui.app
    x = editor.add_node("Input", (60, 60), {"shape": [4, 8, 8]})
    drive.frames(3)
    drive.drag(drive.pin(x, "out", True), (700, 420))
    assert app.quick_add.visible and app.quick_add.wire == (x, "out", True)
    drive.type("sigmoid")
    drive.key("Return")
    (new,) = editor.design.nodes_of_type("Sigmoid")
    assert editor.design.inputs_of(new) == {"in": (x, "out")}
    assert editor.history.undo_stack[-1].label == "Add Sigmoid"  # one step


def test_input_pins_show_the_incoming_tensor(gui):
    drive, editor, app = gui, gui.editor, gui.app
    x = editor.add_node("Input", (60, 60), {"shape": [4, 8, 8]})
    relu = editor.add_node("ReLU", (300, 60))
    editor.connect(x, "out", relu, "in")
    drive.frames(3)
    tip = app.canvas.items[relu].input_tips["in"]
    assert dpg().get_value(tip) == f"in: N×4×8×8 from {x}.out"
    editor.set_param(x, "shape", [2, 8, 8])
    drive.frames(2)
    assert dpg().get_value(tip) == f"in: N×2×8×8 from {x}.out"


def test_zoom_collapses_node_bodies_and_the_wheel_keeps_the_pointed_place(gui):
    drive, editor, app = gui, gui.editor, gui.app
    nodes = relu_chain(editor, 8)
    drive.frames(3)
    app.camera.centre_on(nodes[3], 1.0)
    drive.frames(3)
    point = (700.0, 500.0)
    under = app.camera.to_design(point)
    drive.move(point)
    drive.xdo("click", "5")  # wheel down: zoom out
    drive.frames(3)
    assert app.canvas.view.zoom < 1.0 and app.canvas.view.mode == "compact"
    again = app.camera.to_design(point)
    assert abs(again[0] - under[0]) < 3 and abs(again[1] - under[1]) < 3
    items = app.canvas.items[nodes[3]]
    assert not dpg().is_item_shown(items.block_row) and dpg().get_value(items.inputs["in"]) == ""
    drive.xdo("click", "4")
    drive.frames(3)
    assert app.canvas.view.zoom == 1.0 and dpg().is_item_shown(items.block_row)


def test_idle_window_waits_for_input_and_still_autosaves(gui, monkeypatch):
    from designer.gui import pacing

    app, editor = gui.app, gui.editor
    monkeypatch.setattr(pacing, "IDLE_PERIOD", 0.25)
    monkeypatch.setattr(pacing, "SETTLE", 0.05)
    monkeypatch.setattr(editor.autosaver, "interval", 0.6)
    editor.add_node("ReLU", (40, 40))
    gui.frames(2)
    editor.autosaver.start_over(time.monotonic())  # the last autosave was just now
    app.say("Ready.")
    waited = app.pacer.frames_waited
    time.sleep(0.1)
    start, frames = time.monotonic(), 0
    while time.monotonic() - start < 1.5:
        app.frame(paced=True)
        frames += 1
    app.frame()  # back to drawing without waiting
    assert 3 <= frames <= 12, frames  # about one frame per IDLE_PERIOD, not hundreds
    assert app.pacer.frames_waited > waited  # (bench/bench_gui.py measures the CPU it saves)
    assert editor.autosaver.file.exists()  # woken when the autosave was due
