"""File › Import… in the real window: a module of this file, then the test suite's ResNet, are
imported on a worker thread (frames keep coming), written with their weights and opened; unsaved
work is asked about first; a bad source is shown in the dialog. Saves docs/import.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch import nn

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
SHOT = ROOT / "docs" / "import.png"
RESNET = f"{ROOT / 'tests' / 'import_models.py'}:ResNet"


class SmallNet(nn.Module):
    """A stem and two alike residual units: imported from this very file."""

    def __init__(self, width: int = 4):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.units = nn.Sequential(Unit(width), Unit(width))
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, x):
        return self.head(self.units(self.stem(x)))


class Unit(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x):
        return x + self.conv(x).relu()


def dpg():
    import dearpygui.dearpygui as module

    return module


def fill(dialog, source: str, shapes: str, kwargs: str = "", output: str = "") -> None:
    dpg().set_value(dialog.source, source)
    dialog._source_typed()  # what typing in the field calls
    dpg().set_value(dialog.shapes, shapes)
    dpg().set_value(dialog.kwargs, kwargs)
    if output:
        dpg().set_value(dialog.output, output)
        dialog._edited()


def run_import(drive, dialog) -> None:
    """Click Import and render until the worker is done."""
    drive.click(drive.centre(dialog.button))
    drive.until(lambda: not dialog.busy, seconds=120)


def test_import_opens_the_design_after_asking_about_unsaved_work(gui, tmp_path):
    drive, app, editor = gui, gui.app, gui.editor
    editor.add_node("ReLU", (40, 40))  # unsaved work
    drive.frames(2)
    app.import_model()  # File › Import…
    dialog = app.import_dialog
    drive.frames(2)
    assert dialog.visible
    fill(dialog, f"{__file__}:SmallNet", "2,3,16,16", "width=6")
    assert dpg().get_value(dialog.output) == str(Path(__file__).parent / "SmallNet.json")
    fill(dialog, f"{__file__}:SmallNet", "2,3,16,16", "width=6", str(tmp_path / "small.json"))
    run_import(drive, dialog)
    assert "imported" in dpg().get_value(dialog.outcome)
    assert app.question.visible  # the design waits for an answer about the ReLU
    buttons = dpg().get_item_children(app.question.buttons, 1)
    drive.click(drive.centre(buttons[1]))  # Discard
    assert editor.path == tmp_path / "small.json" and not editor.dirty
    assert editor.design.node("units")["repeat"] == 2 and set(editor.design.blocks) == {"Unit"}
    assert (tmp_path / "small.safetensors").exists()
    assert "with its weights" in drive.status()

    fill(dialog, f"{tmp_path}/nowhere.py:Net", "1,3,8,8", "", str(tmp_path / "x.json"))
    run_import(drive, dialog)
    outcome = dpg().get_value(dialog.outcome)
    assert outcome.startswith("import failed:") and "no such file" in outcome
    assert app.running and editor.path == tmp_path / "small.json"
    dialog.close()


def test_an_imported_resnet_in_the_editor(gui, tmp_path):
    drive, app, editor = gui, gui.app, gui.editor
    app.import_model()
    dialog = app.import_dialog
    args = "layers=(3, 4, 3), widths=(16, 32, 64)"
    fill(dialog, RESNET, "2,3,32,32", args, str(tmp_path / "resnet.json"))
    dialog.start()  # what the Import button calls: it returns at once, the worker traces
    assert dialog.busy
    frames = 0
    while dialog.busy:
        drive.frames(1)
        frames += 1
    drive.frames(3)
    assert frames > 0  # the window kept drawing while the model was traced
    assert editor.path == tmp_path / "resnet.json"
    assert "BasicBlock" in editor.design.blocks
    assert [editor.design.node(n).get("repeat") for n in ("layer1", "layer2_1", "layer3_1")] == [
        3,
        3,
        2,
    ]
    assert "opaque: none" in dpg().get_value(dialog.outcome)
    dialog.close()
    app.issues.clear_log()  # an earlier test's failed import
    app.select(["layer2_1"])
    drive.frames(4)
    app.camera.centre_on("layer1", zoom=0.8)
    drive.frames(6)
    SHOT.unlink(missing_ok=True)
    dpg().output_frame_buffer(file=str(SHOT))
    drive.frames(3)
    assert SHOT.exists() and SHOT.stat().st_size > 20_000
