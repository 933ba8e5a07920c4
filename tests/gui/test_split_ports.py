"""A Split's node on the canvas shows one output pin per piece and redraws when they change."""

from __future__ import annotations


def test_split_node_draws_a_pin_per_piece_and_follows_its_parameter(gui):
    drive, editor = gui, gui.editor
    x = editor.add_node("Input", (40, 40), params={"shape": [7, 4]})
    split = editor.add_node("Split", (320, 40), params={"split_size_or_sections": 3, "dim": 1})
    editor.connect(x, "out", split, "in")
    drive.frames(3)
    view = drive.app.canvas.views[split]
    assert view.outputs == ("out1", "out2", "out3")
    assert view.output_text == ("out1: N×3×4", "out2: N×3×4", "out3: N×1×4")
    assert len(drive.app.canvas.items[split].outputs) == 3
    out = editor.add_node("Output", (640, 40))
    drive.frames(3)
    drive.wire(split, "out3", out, "in")  # dragged from the third pin
    assert editor.design.inputs_of(out) == {"in": (split, "out3")}
    editor.set_param(split, "split_size_or_sections", [2, 2, 2, 1])
    drive.frames(3)
    assert drive.app.canvas.views[split].outputs == ("out1", "out2", "out3", "out4")
    assert len(drive.app.canvas.items[split].outputs) == 4
    editor.set_param(x, "shape", [6, 4])  # the sizes no longer add up: an issue on the node
    editor.set_param(split, "split_size_or_sections", 4)  # 4 and 2: out3 is gone, still wired
    drive.frames(3)
    view = drive.app.canvas.views[split]
    assert view.outputs == ("out1", "out2", "out3") and view.bad_ports == {"out3"}
    editor.undo(), editor.undo()
    drive.frames(3)
    assert drive.app.canvas.views[split].outputs == ("out1", "out2", "out3", "out4")
    drive.screenshot("split_ports")
