"""Placement as editor commands, headless: a node's device tag, the split over devices (the same
design as ``designer place``), and placement through undo/redo, grouping, copy/paste and files.
Also what the canvas shows of it (:func:`designer.gui.present.placement_view`)."""

from __future__ import annotations

import pytest
from common import EXAMPLES

import designer
from designer.cli import main
from designer.core.fileformat import design_to_dict
from designer.edit.editor import Editor, EditRefused
from designer.gui.present import node_view, placement_view

UNET = EXAMPLES / "unet.json"


def tags(editor: Editor) -> dict[str, str | None]:
    return {n: editor.design.node(n).get("device") for n in editor.design.node_ids()}


@pytest.fixture
def unet() -> Editor:
    editor = Editor()
    editor.open(UNET)
    return editor


def test_set_device_is_one_undoable_step(unet):
    unet.set_device("up4", " cuda:1 ")
    assert unet.design.node("up4")["device"] == "cuda:1"
    assert unet.history.undo_stack[-1].label == "Place up4 on cuda:1"
    unet.set_device("up4", "")
    assert "device" not in unet.design.node("up4")
    unet.undo()
    assert unet.design.node("up4")["device"] == "cuda:1"
    unet.undo()
    assert tags(unet)["up4"] is None and not unet.dirty
    unet.redo()
    assert unet.design.node("up4")["device"] == "cuda:1"


def test_several_nodes_take_one_device_in_one_step(unet):
    unet.set_devices(["up3", "up4", "outc"], "cpu")
    assert [tags(unet)[n] for n in ("up3", "up4", "outc")] == ["cpu"] * 3
    assert unet.undo() == "Place 3 nodes on cpu"
    assert not any(tags(unet).values())


def test_an_unknown_tag_is_kept_and_shown_as_an_issue_on_its_node(unet):
    unet.set_device("up4", "gpu")
    issues = unet.report.issues_for("up4")
    assert [i.code for i in issues] == ["device"]
    assert "'gpu' is not a device" in issues[0].message and "inspector" in issues[0].hint
    unet.set_device("up4", "3")  # a stage the design does not declare
    assert "stage 3 has no device" in unet.report.issues_for("up4")[0].message


@pytest.mark.parametrize("tag", ["x" * 33, "cuda:\n0"])
def test_a_tag_no_file_could_hold_is_refused(unet, tag):
    with pytest.raises(EditRefused, match="a device tag is a short name"):
        unet.set_device("up4", tag)
    assert not unet.can_undo


def test_the_split_gives_the_design_designer_place_writes(unet, tmp_path):
    out = tmp_path / "placed.json"
    assert main(["place", str(UNET), "--devices", "cpu,cpu", "-o", str(out)]) == 0
    stages = unet.split("cpu, cpu", "memory")
    assert set(stages.values()) == {0, 1}
    assert design_to_dict(unet.root) == design_to_dict(designer.load(out))
    assert unet.history.undo_stack[-1].label == "Split over cpu,cpu by memory"


def test_the_split_by_macs_matches_the_command_line_too(unet, tmp_path):
    out = tmp_path / "placed.json"
    argv = ["place", str(UNET), "--devices", "cuda:0,cuda:1", "--by", "macs", "-o", str(out)]
    assert main(argv) == 0
    unet.split(["cuda:0", "cuda:1"], "macs")
    assert design_to_dict(unet.root) == design_to_dict(designer.load(out))


def test_the_split_is_one_step_and_undo_forgets_the_stages(unet):
    unet.set_device("up4", "gpu")  # a bad tag does not stop a split: the split replaces it
    unet.split("cpu,cpu")
    assert unet.report.ok and unet.design.meta["stages"] == ["cpu", "cpu"]
    unet.undo()
    assert unet.design.meta == {} and tags(unet)["up4"] == "gpu"
    assert {t for n, t in tags(unet).items() if n != "up4"} == {None}
    unet.redo()
    assert unet.design.meta["stages"] == ["cpu", "cpu"] and set(tags(unet).values()) == {"0", "1"}


@pytest.mark.parametrize(
    ("devices", "words"),
    [
        ("gpu,cpu", "gpu is not a device"),
        ("0,1", "0, 1 is not a device"),
        (" , ", "no devices given"),
        (",".join(["cpu"] * 13), "cannot split 12 nodes into 13 stages"),
    ],
)
def test_a_split_that_cannot_be_done_is_refused_and_changes_nothing(unet, devices, words):
    with pytest.raises(EditRefused, match=words):
        unet.split(devices)
    assert not unet.can_undo and unet.design.meta == {}


def test_a_design_with_errors_is_not_split(unet):
    unet.disconnect("up4", "x2")
    with pytest.raises(EditRefused, match="fix them first"):
        unet.split("cpu,cpu")
    with pytest.raises(EditRefused, match="balance by memory or macs"):
        unet.split("cpu,cpu", "time")


def test_placement_is_set_on_instances_not_inside_blocks(unet):
    unet.enter(unet.group(["up4", "outc"], "Head"))
    inner = "up4"
    with pytest.raises(EditRefused, match="inside a block"):
        unet.set_device(inner, "cpu")
    with pytest.raises(EditRefused, match="inside a block"):
        unet.split("cpu,cpu")


def test_clear_placement_untags_everything_in_one_step(unet):
    unet.split("cpu,cpu")
    unet.clear_placement()
    assert not any(tags(unet).values()) and "stages" not in unet.design.meta
    unet.undo()
    assert set(tags(unet).values()) == {"0", "1"}


def test_grouping_a_placed_selection_places_the_instance_and_ungroup_gives_it_back(unet):
    unet.split("cpu,cpu")
    before = tags(unet)
    chosen = [n for n in ("up3", "up4", "outc") if before[n] == before["outc"]]
    instance = unet.group(chosen, "Head")
    assert unet.design.node(instance)["device"] == before["outc"]
    assert unet.report.ok
    inner = unet.ungroup(instance)
    assert sorted(inner) == sorted(chosen)
    assert tags(unet) == before
    unet.undo()  # the ungroup
    assert unet.design.node(instance)["device"] == before["outc"]
    unet.undo()  # the group, with its tag, in one step
    assert instance not in unet.design and tags(unet) == before


def test_grouping_nodes_on_two_devices_is_refused(unet):
    unet.split("cpu,cpu")
    with pytest.raises(EditRefused, match="placed on stage 0 and stage 1"):
        unet.group(["up2", "up3"], "Mixed")
    assert "Mixed" not in unet.design.blocks


def test_untagged_nodes_join_the_placed_ones_in_a_group(unet):
    unet.set_device("up3", "cuda:1")
    instance = unet.group(["up3", "up4"], "Ups")
    assert unet.design.node(instance)["device"] == "cuda:1"
    assert {tags(unet)[n] for n in unet.ungroup(instance)} == {"cuda:1"}


def test_copy_paste_and_duplicate_keep_the_tags(unet):
    unet.split("cpu,cpu")
    unet.copy(["up4", "outc"])
    pasted = unet.paste((3000, 0))
    assert [unet.design.node(n)["device"] for n in pasted] == [tags(unet)["up4"], "1"]
    twins = unet.duplicate(["inc"])
    assert unet.design.node(twins[0])["device"] == "0"


def test_save_and_open_keep_tags_and_stages(unet, tmp_path):
    unet.split("cuda:0,cpu")
    unet.set_device("logits", "cpu")
    path = unet.save_as(tmp_path / "placed.json")
    again = Editor()
    again.open(path)
    assert tags(again) == tags(unet) and again.design.meta["stages"] == ["cuda:0", "cpu"]
    assert design_to_dict(again.root) == design_to_dict(unet.root)


def test_the_canvas_view_of_a_split(unet):
    assert placement_view(unet) is None
    unet.split("cpu,cpu")
    view = placement_view(unet)
    assert [s.name for s in view.stages] == ["stage 0 · cpu", "stage 1 · cpu"]
    assert sum(s.nodes for s in view.stages) == len(unet.design)
    assert abs(sum(s.share for s in view.stages) - 1) < 1e-9
    assert max(s.share for s in view.stages) <= 0.55  # the issue's balance bound
    assert view.summary().startswith(f"{len(view.cuts)} cut wires move ")
    wire, cut = next(iter(view.cuts.items()))
    assert cut.bytes_per_sample > 0 and view.index(cut.source) != view.index(cut.target)
    shown = node_view(unet, wire[2], [], placement=view)
    port = shown.inputs.index(wire[3])
    assert shown.input_labels[port].startswith(f"{wire[3]} ← ") and wire[3] in shown.cut_ports
    assert "cut: stage 0 · cpu → stage 1 · cpu" in shown.input_tips[port]


def test_untagged_parts_of_a_placed_design_come_last_in_the_legend(unet):
    unet.set_device("up4", "cuda:1")
    unet.set_device("outc", "0")
    view = placement_view(unet)
    assert [s.tag for s in view.stages] == ["0", "cuda:1", ""]
    assert view.index("") is None and view.stages[-1].name == "untagged (model device)"
    assert view.stages[0].name == "stage 0 · no device"


def test_an_expanded_instance_shows_its_nodes_where_it_is_placed(unet):
    unet.split("cpu,cpu")
    tag = tags(unet)["up1"]
    inner = unet.expand("up1")
    assert {tags(unet)[n] for n in inner} == {tag}
    assert not any(w[0] in inner and w[2] in inner for w in placement_view(unet).cuts)
    assert unet.collapse("up1") == "up1" and tags(unet)["up1"] == tag
