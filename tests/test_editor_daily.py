"""Editor commands for daily use: Save As names the design, Find, wired quick add, expanding a
block in place and collapsing it back, and the remembered recent files."""

from __future__ import annotations

from pathlib import Path

import pytest

from designer.core.fileformat import dumps, load
from designer.edit.editor import Editor, EditRefused, find_nodes
from designer.edit.state import MAX_RECENT, Settings

ROOT = Path(__file__).resolve().parent.parent
UNET = ROOT / "examples" / "unet.json"


def test_save_as_renames_the_design(tmp_path):
    """B10: Save As of an untitled design names it after the file."""
    editor = Editor()
    editor.add_node("Input", (40, 40))
    assert editor.root.name == "untitled"
    editor.save_as(tmp_path / "segmenter.json")
    assert editor.root.name == "segmenter" and editor.breadcrumb() == ["segmenter"]
    assert load(tmp_path / "segmenter.json").name == "segmenter"
    assert editor.display_name == "segmenter.json" and not editor.dirty


def test_find_nodes_by_label_type_and_shape():
    editor = Editor()
    editor.open(UNET)
    report = editor.report
    assert find_nodes(editor.design, report, "up1")[0] == "up1"
    assert find_nodes(editor.design, report, "UP")[:4] == ["up1", "up2", "up3", "up4"]
    assert find_nodes(editor.design, report, "doubleconv") == ["inc"]
    editor.rename("outc", "head")
    assert find_nodes(editor.design, editor.report, "head") == ["outc"]
    by_shape = find_nodes(editor.design, editor.report, "1024x35")  # N×1024×35×35: down4
    assert by_shape == ["down4"]
    assert find_nodes(editor.design, report, "×1024×") == ["down4"]
    assert (
        find_nodes(editor.design, report, "zzz") == []
        and find_nodes(editor.design, report, " ") == []
    )


def test_add_wired_is_one_step_and_wires_the_new_block():
    editor = Editor()
    x = editor.add_node("Input", (40, 40), {"shape": [3, 8, 8]})
    relu = editor.add_wired("ReLU", (300, 40), source=(x, "out"))
    assert editor.design.inputs_of(relu) == {"in": (x, "out")}
    out = editor.add_node("Output", (600, 40))
    head = editor.add_wired("Sigmoid", (450, 40), target=(out, "in"))
    assert editor.design.inputs_of(out) == {"in": (head, "out")}
    assert editor.undo() == "Add Sigmoid" and head not in editor.design
    assert editor.design.inputs_of(out) == {}


def test_expand_in_place_then_collapse_gives_the_same_design():
    editor = Editor()
    editor.open(UNET)
    before = dumps(editor.root)
    nodes = editor.expand("up1")
    assert "up1" not in editor.design and set(nodes) <= editor.expanded_nodes()
    assert editor.expansion_of(nodes[0]) == "up1" and editor.expansion_of("inc") is None
    assert editor.report.ok
    xs = {n: editor.design.node(n)["pos"][0] for n in nodes}
    assert all(editor.design.node("up2")["pos"][0] > x for x in xs.values())  # room was made
    editor.move({nodes[0]: (0, 0)})  # moving expanded nodes is fine
    assert editor.collapse("up1") == "up1"
    assert dumps(editor.root) == before and not editor.expanded_nodes()
    editor.undo()
    assert editor.expanded_nodes() == set(nodes)  # undo brings the expansion back
    editor.undo(), editor.undo()
    assert dumps(editor.root) == before


def test_collapse_refuses_edited_expansions():
    editor = Editor()
    editor.open(UNET)
    nodes = editor.expand("up1")
    conv = next(n for n in nodes if editor.design.node(n)["type"] == "ConvTranspose2d")
    editor.set_param(conv, "out_channels", 8)
    with pytest.raises(EditRefused, match="were edited since it was expanded"):
        editor.collapse("up1")
    with pytest.raises(EditRefused, match="is not expanded"):
        editor.collapse("inc")


def test_settings_remember_recent_files(tmp_path):
    settings = Settings(tmp_path / "state" / "settings.json")
    files = []
    for i in range(MAX_RECENT + 2):
        files.append(tmp_path / f"d{i}.json")
        files[-1].write_text("{}")
        settings.remember(files[-1])
    settings.remember(files[3])
    again = Settings(tmp_path / "state" / "settings.json")
    assert again.recent()[0] == files[3].resolve() and len(again.recent()) == MAX_RECENT
    files[3].unlink()
    assert files[3].resolve() not in again.recent()
    again.set("ui_scale", 1.5)
    assert Settings(again.path).get("ui_scale", 1.0) == 1.5
    (tmp_path / "state" / "settings.json").write_text("not json")
    assert Settings(again.path).recent() == []


def test_autosave_due_tells_when_the_next_recovery_write_is(tmp_path):
    from designer.edit.recovery import Autosaver

    editor = Editor()
    editor.autosaver = Autosaver(tmp_path, interval=30.0)
    assert editor.autosave_due() is None  # nothing unsaved
    editor.add_node("Input", (40, 40))
    assert editor.autosave_due() == 0.0  # never written: due now
    editor.autosave_if_due(100.0)
    assert editor.autosave_due() is None  # written, nothing new
    editor.add_node("ReLU", (300, 40))
    assert editor.autosave_due() == 130.0
