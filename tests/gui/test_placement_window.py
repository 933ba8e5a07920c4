"""Device placement in the real window: Model > Split over devices on the U-Net, the stages'
colours, the cut wires drawn apart with their bytes, the legend, and the inspector's device field.
Saves docs/placement.png (the README's picture)."""

from __future__ import annotations

from pathlib import Path

import pytest

from designer.core.fileformat import load
from designer.core.placement import cut_wires
from designer.core.validate import validate
from designer.gui.theme import CUT, device_colour

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
SHOT = ROOT / "docs" / "placement.png"


def dpg():
    import dearpygui.dearpygui as module

    return module


def cli_cuts() -> list[tuple[str, str, str, str]]:
    """The cut wires of the U-Net as ``designer place --devices cpu,cpu`` leaves it."""
    from designer.core.placement import apply_split, auto_split

    design = load(ROOT / "examples" / "unet.json")
    apply_split(design, auto_split(design, validate(design), 2, "memory"), ["cpu", "cpu"])
    return sorted(
        (c.src, c.src_port, c.dst, c.dst_port) for c in cut_wires(design, validate(design))
    )


def pixels_near(path: Path, colour: tuple, tolerance: int = 12) -> int:
    from PIL import Image

    image = Image.open(path).convert("RGB")
    return sum(
        count
        for count, rgb in image.getcolors(image.width * image.height)
        if all(abs(a - b) <= tolerance for a, b in zip(rgb, colour, strict=True))
    )


def test_split_the_unet_over_cpu_cpu_from_the_model_menu(gui):
    drive, editor, app = gui, gui.editor, gui.app
    editor.open(ROOT / "examples" / "unet.json")
    drive.frames(3)
    app.fit_all()
    drive.frames(4)
    assert not dpg().is_item_shown(app.legend.window)  # nothing placed yet

    app.split_over_devices()
    drive.frames(2)
    assert app.split_dialog.visible
    app.split_dialog.choose("cpu,cpu", "memory")
    drive.click(drive.centre(app.split_dialog.button))
    assert not app.split_dialog.visible
    assert "split over cpu,cpu" in drive.status()

    tags = {n: editor.design.node(n).get("device") for n in editor.design.node_ids()}
    assert set(tags.values()) == {"0", "1"} and editor.design.meta["stages"] == ["cpu", "cpu"]
    first, last = tags["inc"], tags["outc"]
    assert first != last
    canvas = app.canvas
    assert canvas.device_colour("inc") == device_colour(0)
    assert canvas.device_colour("outc") == device_colour(1)
    assert canvas.items["inc"].theme != canvas.items["outc"].theme

    assert canvas.cut_wires() == cli_cuts() and canvas.cut_wires()
    for wire in canvas.cut_wires():
        assert dpg().get_item_theme(canvas.ids.wire_item[wire]) == app.themes.cut_link
    plain = next(w for w in editor.design.edges() if w not in canvas.cut_wires())
    assert dpg().get_item_theme(canvas.ids.wire_item[plain]) != app.themes.cut_link

    src, src_port, dst, dst_port = cli_cuts()[0]
    tip = dpg().get_value(canvas.items[dst].input_tips[dst_port])
    assert "cut: stage 0 · cpu → stage 1 · cpu" in tip and "MiB per sample" in tip
    label = dpg().get_value(canvas.items[dst].inputs[dst_port])
    assert label.startswith(f"{dst_port} ← ") and label.endswith("MiB")

    drive.frames(3)
    assert dpg().is_item_shown(app.legend.window)
    legend = "\n".join(app.legend.lines())
    assert "stage 0 · cpu" in legend and "stage 1 · cpu" in legend
    assert f"{len(cli_cuts())} cut wires move" in legend
    assert f"{src}.{src_port} → {dst}.{dst_port}" in legend

    app.select(["up3"])
    drive.move((1599, 999))  # the pointer on the status bar: no hover highlight
    drive.frames(4)
    assert dpg().get_value(app.inspector.device_field) == tags["up3"]
    SHOT.unlink(missing_ok=True)
    dpg().output_frame_buffer(file=str(SHOT))
    drive.frames(3)
    assert SHOT.exists()
    assert pixels_near(SHOT, CUT) > 200  # the cut wires stand out
    assert pixels_near(SHOT, device_colour(0)) > 200 and pixels_near(SHOT, device_colour(1)) > 200

    drive.key("ctrl+z")  # the split is one undo step
    drive.frames(3)
    assert not any(editor.design.node(n).get("device") for n in editor.design.node_ids())
    assert canvas.cut_wires() == [] and not dpg().is_item_shown(app.legend.window)


def test_the_inspector_device_field_tags_a_node_and_shows_a_bad_tag(gui):
    drive, editor, app = gui, gui.editor, gui.app
    editor.open(ROOT / "examples" / "unet.json")
    drive.frames(3)
    app.select(["up4"])
    drive.frames(2)
    field = app.inspector.device_field

    def type_tag(text: str) -> None:
        dpg().set_value(field, text)
        dpg().get_item_callback(field)(field, text, dpg().get_item_user_data(field))
        drive.frames(3)

    type_tag("cpu")
    assert editor.design.node("up4")["device"] == "cpu"
    assert app.canvas.device_colour("up4") is not None
    assert app.canvas.cut_wires()  # the wires into and out of up4 cross devices
    type_tag("gpu")
    assert editor.design.node("up4")["device"] == "gpu"
    assert app.canvas.views["up4"].severity == "error"  # the error shows over the device colour
    assert "'gpu' is not a device" in dpg().get_value(app.inspector.summary)
    type_tag("")
    assert "device" not in editor.design.node("up4")
    assert app.canvas.placement is None and app.canvas.cut_wires() == []
    editor.undo()
    drive.frames(3)
    assert editor.design.node("up4")["device"] == "gpu"
    assert dpg().get_value(app.inspector.device_field) == "gpu"
