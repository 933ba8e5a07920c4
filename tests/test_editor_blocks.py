"""Composite blocks in the editor: group, ungroup, open a block and edit its definition."""

from __future__ import annotations

import json

import pytest

from designer import DesignBuilder
from designer.core.fileformat import dumps, loads
from designer.core.validate import validate
from designer.edit.editor import Editor, EditRefused, find_blocks


def chain() -> Editor:
    b = DesignBuilder("chain")
    x = b.input((3, 16, 16))
    h = b.add("Conv2d", x, node_id="conv", out_channels=8, padding=1)
    h = b.add("ReLU", h, node_id="relu")
    h = b.add("Conv2d", h, node_id="conv2", out_channels=4, padding=1)
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
    editor.connect("conv2", "out", second, "conv_in")
    editor.connect(second, "relu_out", "y", "in")
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
    editor.connect("conv2", "out", second, "conv_in")
    editor.connect(second, "relu_out", "y", "in")
    editor.enter(first)
    assert editor.breadcrumb() == ["chain", f"{first} (ConvRelu)"]
    assert editor.report.nodes["conv"].out_shapes[0] == (None, 8, 16, 16)  # as first sees it
    pool = editor.add_node("MaxPool2d", (500, 0))
    editor.connect("relu", "out", pool, "in")
    editor.connect(pool, "out", "relu_out", "in")
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


# -- nothing the editor makes fails to load ---------------------------------------------------


def two_blocks() -> Editor:
    """x -> a (block A: conv, relu) -> b (block B: conv2) -> y."""
    editor = chain()
    assert editor.group(["conv", "relu"], "A") == "a"
    assert editor.group(["conv2"], "B") == "b"
    return editor


def refused(editor: Editor, match: str, command, *args) -> None:
    """The command is refused with ``match`` and changes nothing, history included."""
    before, steps = dumps(editor.root), len(editor.history.undo_stack)
    with pytest.raises(EditRefused, match=match):
        command(*args)
    assert dumps(editor.root) == before and len(editor.history.undo_stack) == steps
    assert loads(dumps(editor.root)) == editor.root


def test_block_cannot_contain_itself_by_adding_a_node():
    editor = two_blocks()
    editor.enter("a")
    refused(editor, r"Add A: block A would contain itself \(A -> A\)", editor.add_node, "A")


def test_two_blocks_cannot_contain_each_other():
    editor = two_blocks()
    editor.enter("a")
    editor.add_node("B")  # A uses B: fine
    editor.leave()
    editor.enter("b")
    refused(editor, r"would contain itself \((A|B) -> (A|B) -> \1\)", editor.add_node, "A")


def test_block_cannot_contain_itself_by_pasting():
    editor = two_blocks()
    editor.copy(["a"])
    editor.enter("a")
    refused(editor, r"Paste 1 node: block A would contain itself", editor.paste)


def test_grouping_cannot_nest_blocks_too_deep():
    from test_nesting import nested_file

    from designer.core.composite import MAX_NESTING

    names = [f"B{i}" for i in range(MAX_NESTING)]
    editor = Editor(loads(nested_file(names, [False] * MAX_NESTING, 2)))
    message = rf"Group 1 nodes into Wrap: blocks would nest {MAX_NESTING + 1} levels deep"
    refused(editor, message, editor.group, ["top"], "Wrap")


def test_open_block_keeps_an_input_and_an_output():
    editor = two_blocks()
    editor.enter("a")
    refused(editor, "block A needs at least one Output node", editor.delete, ["relu_out"])
    refused(editor, "block A needs at least one Input node", editor.delete, ["conv_in"])
    editor.add_node("Output")
    editor.delete(["relu_out"])  # another Output is left
    assert editor.root.blocks["A"].output_ports == ("output",)


def local() -> Editor:
    """x -> unit (ConvUnit: expressions, a conditional batch norm, two outputs) -> y, raw."""
    from strategies import LOCAL_BLOCKS

    data = {
        "format": "torch-designer",
        "version": 1,
        "blocks": LOCAL_BLOCKS,
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [3, 8, 8]}},
            {"id": "unit", "type": "ConvUnit", "params": {"out_channels": 4}},
            {"id": "y", "type": "Output"},
            {"id": "raw", "type": "Output"},
        ],
        "edges": [
            {"from": "x.out", "to": "unit.x"},
            {"from": "unit.y", "to": "y.in"},
            {"from": "unit.raw", "to": "raw.in"},
        ],
    }
    return Editor(loads(json.dumps(data)))


def test_conditional_node_keeps_an_input():
    editor = local()
    editor.enter("unit")
    refused(
        editor, "`bn` is used only when use_bn and needs an input", editor.disconnect, "bn", "in"
    )
    refused(editor, "needs an input wire", editor.delete, ["conv"])


def test_paste_out_of_a_block_evaluates_what_cannot_follow():
    editor = local()
    editor.enter("unit")
    editor.copy(["conv", "bn"])
    conv, bn = editor.paste()  # inside the same block: expressions and condition stay
    assert editor.design.node(conv)["params"]["stride"] == {"expr": "stride"}
    assert editor.design.node(bn)["when"] == "use_bn"
    editor.leave()
    conv, bn = (editor.design.node(n) for n in editor.paste())
    assert conv["params"]["out_channels"] == 4 and conv["params"]["stride"] == 1
    assert "when" not in bn
    assert loads(dumps(editor.root)) == editor.root


def test_editing_an_inner_block_updates_the_blocks_using_it():
    editor = chain()
    editor.group(["conv"], "Inner", promote=[("conv", "out_channels")])
    editor.group(["inner", "relu"], "Outer")
    assert editor.report.nodes["outer"].params == 3 * 3 * 3 * 8 + 8
    editor.enter("outer")
    editor.enter("inner")
    editor.set_param("conv", "kernel_size", 1)
    editor.leave()
    assert editor.report.nodes["outer"].params == 3 * 8 + 8  # not the memo of the old Inner
    assert validate(loads(dumps(editor.root))).nodes["outer"].params == 3 * 8 + 8
    editor.undo()
    editor.leave()
    assert editor.report.nodes["outer"].params == 3 * 3 * 3 * 8 + 8


def test_values_no_file_holds_are_refused():
    editor = local()
    refused(editor, r"position \(nan, 0\) is off the canvas", editor.move, {"x": (float("nan"), 0)})
    refused(editor, "off the canvas", editor.add_node, "ReLU", (1e12, 0))
    refused(editor, "not valid text", editor.rename, "x", "\ud800")
    refused(editor, "width is too large", editor.set_param, "unit", "width", 10**30)
    editor.move({"x": (536.999, 0.004)})  # kept as a file holds it: 2 decimals
    assert editor.design.node("x")["pos"] == (537.0, 0.0)
    text = dumps(editor.root)
    assert dumps(loads(text)) == text


def test_unknown_parameter_can_be_reset():
    editor = chain()
    editor.design.node("conv")["params"]["bogus"] = 1  # as a file may hold it
    editor.reset_param("conv", "bogus")
    assert "bogus" not in editor.design.node("conv")["params"]
