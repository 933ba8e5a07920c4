"""Split and Chunk have as many output ports as pieces: validation, files, the editor, grouped
blocks, generated code, ONNX export and the GUI's node view all read a node's own ports."""

from __future__ import annotations

import json

import pytest
from blocks.test_tensors import deliberate
from blocks.torch_check import ACCEPT, DELIBERATE, REJECT, Case, check
from codegen_helpers import assert_equivalent

from designer import DesignBuilder, Editor, export_onnx, validate
from designer.blocks import REGISTRY
from designer.core.fileformat import dumps, loads
from designer.core.registry import MAX_OUTPUTS
from designer.edit.grouping import group
from designer.edit.refused import EditRefused
from designer.gui.present import node_view

OUTS = tuple(f"out{i}" for i in range(1, 8))


def pieces(cut, shape=(7, 4), dim=1, wired=("out1", "out2")):
    """Input -> Split -> one Output per wired port."""
    b = DesignBuilder("pieces")
    b.add("Split", b.input(shape), node_id="split", split_size_or_sections=cut, dim=dim)
    for port in wired:
        b.output(b.port("split", port), node_id=f"o_{port}")
    return b.build()


REGRESSIONS = [  # against torch (tests/blocks/torch_check.py), as the tensors family's
    (Case("Split", {"split_size_or_sections": 2}, ((None, 2, 7),)), ACCEPT),  # 2, 2, 2 and 1
    (Case("Split", {"split_size_or_sections": [1, 2, 1]}, ((None, 4),)), ACCEPT),
    (Case("Split", {"split_size_or_sections": [1, 2]}, ((None, 4),)), REJECT),  # adds up to 3
    (Case("Split", {"split_size_or_sections": 5}, ((None, 2, 5),)), DELIBERATE),  # one piece
    (Case("Split", {"split_size_or_sections": 1}, ((None, 65),)), DELIBERATE),  # 65 outputs
    (Case("Split", {"split_size_or_sections": [1] * 64}, ((None, 64),)), ACCEPT),
    (Case("Split", {"split_size_or_sections": 2, "dim": 2}, ((None, 3, 4),)), ACCEPT),
    (Case("Chunk", {"chunks": 3, "dim": 1}, ((None, 7, 2),)), ACCEPT),  # 3, 3 and 1
    (Case("Chunk", {"chunks": 1}, ((None, 5),)), DELIBERATE),  # one piece
    (Case("Chunk", {"chunks": 2, "dim": 0}, ((None, 4),)), DELIBERATE),  # the batch
    (Case("Chunk", {"chunks": 2}, ((None, 4),), dtypes=("int64",)), ACCEPT),
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_split_and_chunk_agree_with_torch(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome


@pytest.mark.parametrize(
    ("block", "params", "words", "hint"),
    [
        ("Split", {"split_size_or_sections": 4}, "into 1 pieces [4]", "from 1 to 3"),
        ("Split", {"split_size_or_sections": [2, 3]}, "adds up to 5, not 4", "adding up to 4"),
        ("Chunk", {"chunks": 3}, "into 2 pieces [2, 2], not chunks=3", "divide 4"),
    ],
)
def test_a_cut_that_does_not_fit_is_an_issue_with_its_fix(block, params, words, hint):
    b = DesignBuilder("bad")
    b.output(b.add(block, b.input((4,)), node_id="cut", **params))
    (issue,) = validate(b.build()).errors
    assert issue.node == "cut" and words in issue.message and hint in issue.hint


def test_ports_follow_the_parameters_until_the_input_is_known():
    split, chunk = REGISTRY.get("Split"), REGISTRY.get("Chunk")
    assert split.outputs == ("out1", "out2") == split.output_ports()
    assert split.output_ports({"split_size_or_sections": (1, 2, 3), "dim": 1}) == OUTS[:3]
    assert chunk.output_ports({"chunks": 5, "dim": 1}) == OUTS[:5]
    assert split.output_ports(count=4) == OUTS[:4]  # what the rule gave, once validated
    assert f"out{MAX_OUTPUTS}" in split.port_sets[1] and "out" not in split.port_sets[1]
    assert REGISTRY.get("ReLU").output_ports() == ("out",)


def test_an_int_size_gives_as_many_outputs_as_torch_gives_pieces():
    report = validate(pieces(3, wired=OUTS[:3]))
    info = report.nodes["split"]
    assert report.ok and info.ports == OUTS[:3]
    assert [s.shape for s in info.out_specs] == [(None, 3, 4), (None, 3, 4), (None, 1, 4)]


def test_a_wire_from_an_output_the_node_lacks_names_node_port_and_fix():
    report = validate(pieces(4, wired=("out1", "out3")))  # 7 channels: 4 and 3, no out3
    (issue,) = report.errors
    assert (issue.node, issue.port, issue.code) == ("split", "out3", "unknown-port")
    assert "has no output port 'out3' (wired to o_out3): it has 2 outputs" in issue.message
    assert "from out1 to out2" in issue.hint and "change the parameters" in issue.hint


def test_too_many_pieces_is_refused_with_the_smallest_size_that_fits():
    (issue,) = validate(pieces(1, shape=(70,))).errors
    assert "into 70 pieces" in issue.message and "give a size from 2 to 69" in issue.hint
    assert validate(pieces(2, shape=(70,))).ok  # 35 outputs
    with pytest.raises(EditRefused, match="chunks = 65 is out of range"):
        Editor().add_node("Chunk", params={"chunks": MAX_OUTPUTS + 1})


def test_a_file_of_the_current_release_loads_and_means_the_same():
    """Files name a Split's two outputs out1 and out2; those names stay the first two."""
    text = {
        "format": "torch-designer",
        "version": 1,
        "name": "old",
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [5, 4]}},
            {"id": "split", "type": "Split", "params": {"split_size_or_sections": 3, "dim": 1}},
            {"id": "a", "type": "Output"},
            {"id": "b", "type": "Output"},
        ],
        "edges": [
            {"from": "x.out", "to": "split.in"},
            {"from": "split.out1", "to": "a.in"},
            {"from": "split.out2", "to": "b.in"},
        ],
    }
    design = loads(json.dumps(text))
    report = validate(design)
    assert report.ok and [s.shape for s in report.nodes["split"].out_specs] == [
        (None, 3, 4),
        (None, 2, 4),
    ]
    text["edges"][2]["from"] = "split.out3"  # a wire the node cannot give: loads, then an issue
    (issue,) = validate(loads(json.dumps(text))).errors
    assert issue.node == "split" and issue.port == "out3" and "it has 2 outputs" in issue.message
    assert validate(loads(dumps(design))).ok


def test_editor_set_parameter_changes_the_ports_and_undo_restores_them():
    editor = Editor()
    x = editor.add_node("Input", params={"shape": [6, 4]})
    split = editor.add_node("Split", params={"split_size_or_sections": [1, 2, 3], "dim": 1})
    editor.connect(x, "out", split, "in")
    out = editor.add_node("Output")
    editor.connect(split, "out3", out, "in")
    assert editor.ports(split).outputs == OUTS[:3] and editor.report.ok
    editor.set_param(split, "split_size_or_sections", [4, 2])  # out3 goes: the wire stays
    assert editor.ports(split).outputs == OUTS[:3]  # shown, and marked as the problem
    (issue,) = editor.report.errors
    assert (issue.node, issue.port) == (split, "out3")
    bad = node_view(editor, split, [issue])
    assert bad.outputs == OUTS[:3] and bad.bad_ports == {"out3"}
    editor.undo()
    assert editor.ports(split).outputs == OUTS[:3] and editor.report.ok
    editor.set_param(split, "split_size_or_sections", 1)  # six pieces of one
    assert editor.ports(split).outputs == OUTS[:6] and editor.report.ok
    with pytest.raises(EditRefused, match="has no output 'out7'"):
        editor.connect(split, "out7", out, "in")


def test_editor_ports_follow_the_input_of_an_int_split():
    editor = Editor()
    x = editor.add_node("Input", params={"shape": [6, 4]})
    split = editor.add_node("Split", params={"split_size_or_sections": 2, "dim": 1})
    assert editor.ports(split).outputs == OUTS[:2]  # no input yet: two
    editor.connect(x, "out", split, "in")
    shown = editor.ports(split)
    assert shown.outputs == OUTS[:3]
    editor.set_param(x, "shape", [8, 4])  # a wider input: one more piece, no wire touched
    view = node_view(editor, split, [], shown)  # the canvas passes the ports it drew
    assert view.outputs == OUTS[:4] and view.output_text[3] == "out4: N×2×4"
    relu = editor.add_wired("ReLU", (300, 0), source=(split, "out4"))
    assert editor.design.inputs_of(relu) == {"in": (split, "out4")}


def test_an_unknown_output_count_still_takes_a_wire_for_validation_to_judge():
    editor = Editor()
    split = editor.add_node("Split", params={"split_size_or_sections": 2})
    out = editor.add_node("Output")
    editor.connect(split, "out5", out, "in")  # its input, and so its pieces, are not known yet
    with pytest.raises(EditRefused, match="has no output 'out65'"):
        editor.connect(split, "out65", out, "in")


def test_a_grouped_split_unpacks_its_pieces_and_the_rest_where_instances_differ():
    b = DesignBuilder("grouped")
    x = b.input((7, 4))
    b.add("Split", x, node_id="split", split_size_or_sections=3, dim=1)
    added = b.add("Add", b.port("split", "out1"), b.port("split", "out2"), node_id="add")
    b.output(b.add("ReLU", added, node_id="relu"), node_id="y")
    b.output(b.port("split", "out3"), node_id="z")
    design = b.build()
    group(design, ["split", "add"], "Pieces")
    assert validate(design).ok
    split = "torch.split(split_in, split_size_or_sections=3, dim=1)"
    assert f"x1, x2, x3 = {split}" in assert_equivalent(design)  # 3, 3 and 1
    design.add_node("Input", {"shape": [10, 4]}, node_id="wide")  # 3, 3, 3 and 1
    design.add_node("Pieces", {}, node_id="again")
    design.connect("wide", "out", "again", "split_in")
    for port in design.spec("Pieces").outputs:
        design.add_node("Output", {}, node_id=f"wide_{port}")
        design.connect("again", port, f"wide_{port}", "in")
    assert validate(design).ok
    assert f"x1, x2, x3, *_ = {split}" in assert_equivalent(design)  # one class for both


@pytest.mark.parametrize(
    ("block", "params", "line"),
    [
        ("Split", {"split_size_or_sections": 3}, "a, b, c = torch.split("),
        ("Split", {"split_size_or_sections": [1, 5, 1]}, "a, b, c = torch.split("),
        ("Chunk", {"chunks": 3}, "a, b, c = torch.chunk(x, chunks=3, dim=1)"),
    ],
)
def test_each_form_builds_generates_equal_code_and_exports(block, params, line, tmp_path):
    b = DesignBuilder("three")
    b.add(block, b.input((7, 2)), node_id="cut", dim=1, **params)
    for port, name in zip(OUTS, "abc", strict=False):
        b.output(b.port("cut", port), node_id=name)
    design = b.build()
    assert line in assert_equivalent(design)
    result = export_onnx(design, tmp_path / "three.onnx", dynamic=("batch",))
    assert result.outputs == ["a", "b", "c"] and result.ops["Split"] == 1


def test_unused_and_shared_pieces_give_equal_code():
    """7 channels as 3, 3 and 1 and as 2, 4 and 1; the first third in 2 chunks. Some pieces go
    unused, one feeds two blocks."""
    b = DesignBuilder("pieces")
    x = b.input((7, 4))
    b.add("Split", x, node_id="thirds", split_size_or_sections=3, dim=1)
    b.add("Split", x, node_id="listed", split_size_or_sections=[2, 4, 1], dim=1)
    b.add("Chunk", b.port("thirds", "out1"), node_id="halves", chunks=2, dim=-1)
    b.output(b.add("Add", b.port("thirds", "out2"), b.port("thirds", "out1")), node_id="sum")
    b.output(b.add("Multiply", b.port("listed", "out3"), b.port("thirds", "out3")), node_id="last")
    b.output(b.port("listed", "out2"), node_id="middle")
    b.output(b.add("Concat", b.port("halves", "out2"), b.port("halves", "out1")), node_id="cat")
    source = assert_equivalent(b.build())
    assert "_, middle, x4 = torch.split(x, split_size_or_sections=(2, 4, 1), dim=1)" in source


def test_grouping_a_split_that_feeds_nothing_gives_the_block_an_output_per_piece():
    b = DesignBuilder("open")
    x = b.input((7, 4))
    b.output(b.add("ReLU", x, node_id="relu"))
    b.add("Split", x, node_id="split", split_size_or_sections=3, dim=1)
    design = b.build()
    instance = group(design, ["split"], "Thirds")
    assert design.spec("Thirds").outputs == ("split_out1", "split_out2", "split_out3")
    assert [s.shape for s in validate(design).nodes[instance].out_specs][2] == (None, 1, 4)


def test_the_layout_draws_wired_pieces_in_order():
    """Pins beyond those the parameters predict follow in number order: out10 after out3."""
    from designer.core.layout import node_ports

    b = DesignBuilder("pieces")
    h = b.input((12, 4))
    b.add("Split", h, node_id="s", split_size_or_sections=1, dim=1)
    design = b.build()
    for port in ("out10", "out3", "out11"):
        design.add_node("Output", node_id=f"y{port}")
        design.connect("s", port, f"y{port}", "in")
    assert node_ports(design, "s")[1] == ("out1", "out2", "out3", "out10", "out11")
