"""Part 2 of the editor in the real window: blocks, a run with a preview, ONNX export."""

from __future__ import annotations

from pathlib import Path

import pytest

from designer import DesignBuilder
from designer.core.fileformat import save

pytestmark = pytest.mark.gui


def chain_file(tmp_path: Path) -> Path:
    """Input 3x32x32 -> conv -> relu -> head -> Output, laid out left to right."""
    b = DesignBuilder("chain")
    x = b.input((3, 32, 32))
    h = b.add("Conv2d", x, node_id="conv", out_channels=8, padding=1)
    h = b.add("ReLU", h, node_id="relu")
    h = b.add("Conv2d", h, node_id="head", out_channels=3, padding=1)
    b.output(h)
    design = b.build()
    for i, node in enumerate(design.node_ids()):
        design.node(node)["pos"] = (40 + 200 * i, 60 + 60 * (i % 2))
    path = tmp_path / "chain.json"
    save(design, path)
    return path


def test_group_reuse_open_and_run(gui, tmp_path):
    drive, editor, app = gui, gui.editor, gui.app
    editor.open(chain_file(tmp_path))
    drive.frames(3)

    app.select(["conv", "relu"])
    drive.key("ctrl+g")
    assert app.group_dialog.visible
    app.group_dialog.choose("ConvRelu", [("conv", "out_channels")])
    drive.click(drive.centre(app.group_dialog.button))
    assert not app.group_dialog.visible
    assert "ConvRelu" in editor.root.blocks and "conv_relu" in editor.design
    assert "ConvRelu" in app.palette.buttons  # the design's blocks are in the palette

    drive.click(drive.centre(app.palette.search))
    drive.type("convrelu")
    drive.click(drive.centre(app.palette.buttons["ConvRelu"]))  # reuse: a second instance
    second = next(n for n in editor.design.nodes_of_type("ConvRelu") if n != "conv_relu")
    editor.set_param(second, "out_channels", 3)
    editor.connect("head", "out", second, "conv_in")
    editor.connect(second, "relu_out", "y", "in")
    drive.frames(3)
    assert editor.report.ok, [str(i) for i in editor.report.issues]

    app.select(["conv_relu"])
    drive.key("ctrl+Return")  # open the block: its body is on the canvas
    assert editor.scope_names == ("ConvRelu",)
    assert set(app.canvas.ids.node_item) == {"conv_in", "conv", "relu", "relu_out"}
    assert [b for b in app.breadcrumb.shown] == ["chain", "conv_relu (ConvRelu)"]
    app.select(["conv"])
    drive.frames(2)
    assert "out_channels" not in app.inspector.fields  # promoted: shown as "= out_channels"
    assert "kernel_size" in app.inspector.fields
    drive.screenshot("block_editing")
    drive.key("ctrl+BackSpace")
    assert editor.design is editor.root

    drive.click((700, 900))  # empty canvas: nothing selected
    drive.click(drive.centre(app.run_tab))
    import dearpygui.dearpygui as dpg

    dpg.set_value(app.run_panel.device, "cpu")
    drive.click(drive.centre(app.run_panel.button))
    drive.until(lambda: not app.run_panel.worker.busy and app.run_panel.shown_state == "done")
    rows = dpg.get_item_children(app.run_panel.table, 1)
    assert len(rows) == len(app.run_panel.worker.result.rows) >= 6  # inner nodes too
    assert app.run_panel.has_preview and app.run_panel.node == "y"
    drive.click(drive.centre(app.canvas.ids.node_item["conv_relu"]))  # preview its output
    assert app.run_panel.node == "conv_relu"
    assert dpg.get_item_configuration(app.run_panel.channel)["max_value"] == 7
    assert "conv_relu (1, 8, 32, 32)" in dpg.get_value(app.run_panel.caption)
    drive.screenshot("run_panel")

    drive.click(drive.centre(app.run_panel.button))  # unchanged design: same weights
    drive.until(lambda: not app.run_panel.worker.busy)
    assert app.run_panel.worker.result.reused_weights


def test_export_dialog_writes_a_checked_file(gui, tmp_path):
    """B12: the dialog shows the export's figures as ``designer export`` prints them."""
    import dearpygui.dearpygui as dpg
    import onnx

    drive, editor, app = gui, gui.editor, gui.app
    editor.open(chain_file(tmp_path))
    drive.frames(3)
    drive.key("ctrl+e")
    dialog = app.export_dialog
    assert dialog.visible
    target = tmp_path / "chain.onnx"
    dpg.set_value(dialog.path, str(target))
    dpg.set_value(dialog.axes["batch"], True)
    drive.click(drive.centre(dialog.button))
    drive.until(lambda: not dialog.busy, seconds=120)
    outcome = dpg.get_value(dialog.outcome)
    lines = outcome.splitlines()
    assert lines[0].startswith(f"wrote {target} (") and " KiB, opset " in lines[0], outcome
    assert lines[1] == "onnx.checker (full check): passed"
    assert lines[2].startswith("onnxruntime vs torch at x 1x3x32x32: max abs error ")
    assert lines[2].endswith(": ok") and "Parity(" not in outcome  # no Python repr
    onnx.checker.check_model(onnx.load(str(target)))
    assert len(dialog.result.parity) == 2 and len(lines) == 4
