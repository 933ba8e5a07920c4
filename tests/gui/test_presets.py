"""The palette's presets in the real window: found by the search, added in one undo step."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_a_preset_adds_its_block_with_its_parameters_in_one_step(gui):
    import dearpygui.dearpygui as dpg

    drive, editor, app = gui, gui.editor, gui.app
    palette = app.palette
    drive.click(drive.centre(palette.search))
    drive.type("3x3 same")
    shown = [n for n, b in palette.preset_buttons.items() if dpg.is_item_shown(b)]
    assert shown == ["Conv 3x3 same", "Conv 3x3 same, no bias"]
    drive.click(drive.centre(palette.preset_buttons["Conv 3x3 same"]))
    drive.frames(3)
    (node,) = editor.design.node_ids()
    assert editor.design.node(node)["type"] == "Conv2d"
    assert editor.design.node(node)["params"] == {"kernel_size": 3, "padding": 1}
    assert editor.history.top().label == "Add Conv2d"
    assert app.camera.on_screen([node]) and app.inspector.node == node
    assert editor.undo() == "Add Conv2d" and editor.design.node_ids() == []
    drive.click(drive.centre(palette.search))
    drive.key("ctrl+a", "BackSpace")
    assert all(dpg.is_item_shown(b) for b in palette.preset_buttons.values())
    drive.click((700, 500))  # leave the search field


def test_quick_add_offers_presets_after_the_best_block(gui):
    import dearpygui.dearpygui as dpg

    drive, editor, app = gui, gui.editor, gui.app
    drive.click((700, 500))  # the canvas has the keyboard, not a search field
    drive.xdo("key", "space", "type", "conv 3x3")
    drive.frames(12)
    items = dpg.get_item_configuration(app.quick_add.matches)["items"]
    assert "Conv 3x3 same" in items[:4], items
    app.quick_add.accept("Conv 3x3 same")
    drive.frames(3)
    (node,) = editor.design.node_ids()
    assert editor.design.node(node)["params"] == {"kernel_size": 3, "padding": 1}
    assert editor.undo() == "Add Conv2d" and editor.design.node_ids() == []
