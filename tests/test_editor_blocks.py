"""Composite blocks in the editor: group, ungroup, open a block and edit its definition."""

from __future__ import annotations

import pytest

from designer import DesignBuilder, validate
from designer.editor import Editor, EditRefused, find_blocks
from designer.fileformat import dumps


def chain() -> Editor:
    b = DesignBuilder("chain")
    x = b.input((3, 16, 16))
    h = b.add("Conv2d", x, node_id="conv", out_channels=8)
    h = b.add("ReLU", h, node_id="relu")
    h = b.add("Conv2d", h, node_id="conv2", out_channels=4)
    b.output(h)
    return Editor(b.build())


def outputs(editor: Editor) -> list:
    report = validate(editor.root)
    assert report.ok, [str(i) for i in report.issues]
    return [report.nodes[o].in_shapes[0] for o in editor.root.nodes_of_type("Output")]


def test_group_is_one_undo_step_and_undo_restores_blocks():
    editor = chain()
    before = dumps(editor.root)
    instance = editor.group(["conv", "relu"], "ConvRelu", promote=[("conv", "out_channels")])
    assert "ConvRelu" in editor.root.blocks
    assert set(editor.design.node_ids()) == {"x", instance, "conv2", "y"}
    assert outputs(editor) == [(None, 4, 16, 16)]
    assert editor.undo() == "Group 2 nodes into ConvRelu"
    assert dumps(editor.root) == before and not editor.root.blocks
    editor.redo()
    assert "ConvRelu" in editor.root.blocks and instance in editor.design
    assert len(editor.history.undo_stack) == 1


def test_grouped_block_is_in_the_palette_and_reusable():
    editor = chain()
    editor.group(["conv", "relu"], "ConvRelu", promote=[("conv", "out_channels")])
    assert [s.name for s in find_blocks("convrelu", editor.design)] == ["ConvRelu"]
    second = editor.add_node("ConvRelu", (300, 0), {"out_channels": 4})
    editor.connect("conv2", "out", second, "x")
    editor.connect(second, "y", "y", "in")
    assert outputs(editor) == [(None, 4, 16, 16)]


def test_ungroup_is_one_undo_step():
    editor = chain()
    instance = editor.group(["conv", "relu"], "ConvRelu")
    grouped = dumps(editor.root)
    nodes = editor.ungroup(instance)
    assert len(nodes) == 2 and instance not in editor.design
    assert outputs(editor) == [(None, 4, 16, 16)]
    editor.undo()
    assert dumps(editor.root) == grouped


def test_bad_group_is_refused_without_change():
    editor = chain()
    before = dumps(editor.root)
    with pytest.raises(EditRefused, match="not a block name"):
        editor.group(["conv"], "lower")
    with pytest.raises(EditRefused, match="cannot go inside"):
        editor.group(["x", "conv"], "Stem")
    with pytest.raises(EditRefused, match="not a composite"):
        editor.ungroup("conv")
    assert dumps(editor.root) == before and not editor.can_undo


def test_editing_a_definition_updates_every_instance():
    editor = chain()
    first = editor.group(["conv", "relu"], "ConvRelu", promote=[("conv", "out_channels")])
    second = editor.add_node("ConvRelu", (300, 0), {"out_channels": 4})
    editor.connect("conv2", "out", second, "x")
    editor.connect(second, "y", "y", "in")
    editor.enter(first)
    assert editor.breadcrumb() == ["chain", f"{first} (ConvRelu)"]
    assert editor.report.nodes["conv"].out_shapes[0] == (None, 8, 16, 16)  # as first sees it
    pool = editor.add_node("MaxPool2d", (500, 0))
    editor.connect("relu", "out", pool, "in")
    editor.connect(pool, "out", "y", "in")
    editor.leave()
    assert editor.design is editor.root
    assert outputs(editor) == [(None, 4, 4, 4)]  # both instances halve the size now
    editor.undo()  # undoing an inner edit opens the block again
    assert editor.scope_names == ("ConvRelu",)
    editor.undo(), editor.undo()
    editor.leave()
    assert outputs(editor) == [(None, 4, 16, 16)]
    for _ in range(3):
        editor.redo()
    editor.leave()
    assert outputs(editor) == [(None, 4, 4, 4)]


def test_setting_an_inner_parameter_changes_the_definition():
    editor = chain()
    instance = editor.group(["conv", "relu"], "ConvRelu")
    editor.enter(instance)
    editor.set_param("conv", "out_channels", 6)
    editor.leave()
    assert "6" in dumps(editor.root) and outputs(editor) == [(None, 4, 16, 16)]
    assert validate(editor.root).nodes[instance].out_shapes[0] == (None, 6, 16, 16)
    with pytest.raises(EditRefused, match="built-in"):
        editor.enter("conv2")


def test_library_blocks_are_not_opened():
    editor = chain()
    node = editor.add_node("DoubleConv", params={"out_channels": 4})
    with pytest.raises(EditRefused, match="library block"):
        editor.enter(node)
    assert editor.design is editor.root
