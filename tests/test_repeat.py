"""Repeat nodes: one block instance applied N times in sequence, as one node with a count.

Validation (a fixed point after the first copy), cost of every copy, the live model and the
generated code (the same state_dict keys and outputs), the file format, the editor's commands and
the ONNX export.
"""

from __future__ import annotations

import copy
import json

import pytest
import torch
from codegen_helpers import assert_equivalent

import designer
from designer import Design, validate
from designer.core.cost import node_cost
from designer.core.fileformat import DesignFileError, dumps, loads
from designer.core.memory import estimate
from designer.core.repeat import MAX_REPEAT, titled
from designer.edit.editor import Editor, EditRefused

STAGE = {
    "doc": "depth linear layers of one width, then a GELU",
    "params": [
        {"name": "width", "type": "int", "default": 16, "min": 1},
        {"name": "depth", "type": "int", "default": 2, "min": 1},
    ],
    "nodes": [
        {"id": "x", "type": "Input"},
        {
            "id": "layers",
            "type": "Linear",
            "params": {"out_features": {"expr": "width"}},
            "repeat": "depth",
        },
        {"id": "act", "type": "GELU"},
        {"id": "y", "type": "Output"},
    ],
    "edges": [
        {"from": "x.out", "to": "layers.in"},
        {"from": "layers.out", "to": "act.in"},
        {"from": "act.out", "to": "y.in"},
    ],
}


def chain(block: str, params: dict, repeat, shape=(32,), **extra) -> Design:
    """Input -> one (repeated) node ``layers`` -> Output."""
    design = Design("repeated")
    design.add_node("Input", {"shape": list(shape)}, node_id="x")
    design.add_node(block, params, node_id="layers", repeat=repeat, **extra)
    design.add_node("Output", node_id="y")
    spec = design.spec(block)
    design.connect("x", "out", "layers", spec.inputs[0])
    design.connect("layers", spec.outputs[0], "y", "in")
    return design


def stages() -> Design:
    """A design block whose inner count is an expression, repeated itself at the top level."""
    data = {
        "format": "torch-designer",
        "version": 1,
        "name": "stages",
        "blocks": {"Stage": STAGE},
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [24]}},
            {"id": "s1", "type": "Stage", "params": {"width": 16, "depth": 3}},
            {"id": "s2", "type": "Stage", "params": {"width": 16, "depth": 1}, "repeat": 2},
            {"id": "s3", "type": "Stage", "params": {"width": 8, "depth": 2}, "repeat": 3},
            {"id": "y", "type": "Output"},
        ],
        "edges": [
            {"from": "x.out", "to": "s1.x"},
            {"from": "s1.y", "to": "s2.x"},
            {"from": "s2.y", "to": "s3.x"},
            {"from": "s3.y", "to": "y.in"},
        ],
    }
    return loads(json.dumps(data))


def linear_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


# -- validation -----------------------------------------------------------------------------------


def test_a_fixed_point_block_counts_every_copy():
    report = validate(chain("Linear", {"out_features": 32}, 4))
    assert report.ok, report.issues
    info = report.nodes["layers"]
    assert info.repeat == 4 and info.out_shapes == ((None, 32),)
    assert info.params == 4 * linear_params(32, 32) == report.total_params
    assert report.to_json()["nodes"][1]["repeat"] == 4


def test_the_first_copy_may_change_the_spec_the_others_keep_it():
    report = validate(chain("Linear", {"out_features": 16}, 3, shape=(64,)))
    assert report.ok, report.issues
    info = report.nodes["layers"]
    assert info.in_shapes == ((None, 64),) and info.out_shapes == ((None, 16),)
    assert info.params == linear_params(64, 16) + 2 * linear_params(16, 16)


def test_a_block_whose_output_cannot_feed_it_again_is_an_error_with_a_fix():
    params = {"out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1}
    report = validate(chain("Conv2d", params, 3, shape=(4, 32, 32)))
    (issue,) = report.errors
    assert issue.node == "layers" and issue.code == "repeat"
    assert "output can feed its input: out N×8×8×8 vs in N×8×16×16" in issue.message
    assert "keep its input's shape" in issue.hint
    assert validate(chain("Conv2d", params, 1, shape=(4, 32, 32))).ok  # one copy: nothing to feed


def test_a_second_copy_that_fails_names_both_specs():
    kwargs = {"in_channels": 3, "out_channels": 8, "kernel_size": 1}
    params = {"target": "torch.nn.Conv2d", "kwargs": kwargs}
    report = validate(chain("TorchModule", params, 2, shape=(3, 8, 8)))
    (issue,) = report.errors
    assert issue.code == "repeat"
    assert "output can feed its input: out N×8×8×8 vs in N×3×8×8 (" in issue.message


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, "too few"),
        (-3, "too few"),
        (MAX_REPEAT + 1, "more than"),
        (True, "whole number"),
        (2.5, "whole number"),
        ("depth", "only inside a block"),
    ],
)
def test_bad_counts_given_through_the_api_are_issues(value, words):
    report = validate(chain("Linear", {"out_features": 32}, value))
    (issue,) = report.errors
    assert issue.code == "repeat" and words in issue.message


@pytest.mark.parametrize(
    ("block", "params"), [("Add", {}), ("Concat", {}), ("Input", {"shape": [32]})]
)
def test_only_single_port_module_blocks_repeat(block, params):
    design = chain("Linear", {"out_features": 32}, None)
    design.node("layers").update(type=block, params=params, repeat=2)
    design.disconnect("layers", "in")
    if block != "Input":
        design.connect("x", "out", "layers", "in1")
        design.connect("x", "out", "layers", "in2")
    issues = [i for i in validate(design).errors if i.node == "layers"]
    assert [i.code for i in issues] == ["repeat"], issues
    assert "cannot repeat" in issues[0].message


def test_a_count_expression_is_evaluated_per_instance():
    report = validate(stages())
    assert report.ok, report.issues
    width = 16
    first = linear_params(24, width) + 2 * linear_params(width, width)
    assert report.nodes["s1"].params == first
    assert report.nodes["s2"].params == 2 * linear_params(width, width)
    assert report.nodes["s3"].params == linear_params(16, 8) + linear_params(8, 8) + 2 * (
        2 * linear_params(8, 8)
    )
    bad = stages()
    bad.node("s1")["params"]["depth"] = 0  # out of the parameter's range: a param issue
    assert not validate(bad).ok
    bad.blocks["Stage"].body.node("layers")["repeat"] = "depth - 5"
    bad.blocks["Stage"].forget()
    bad.node("s1")["params"]["depth"] = 3
    issues = validate(bad).errors
    assert issues and all(i.code == "expr" for i in issues), issues
    assert "too few" in issues[0].message


# -- cost and memory ------------------------------------------------------------------------------


def test_cost_counts_every_copy():
    one = chain("Linear", {"out_features": 32}, None)
    four = chain("Linear", {"out_features": 32}, 4)
    single = node_cost(one, validate(one), "layers")
    repeated = node_cost(four, validate(four), "layers")
    assert repeated.params == 4 * single.params
    assert repeated.macs == 4 * single.macs
    assert repeated.activations == 4 * single.activations
    assert estimate(four, validate(four)).activations > estimate(one, validate(one)).activations


def test_cost_of_a_repeated_composite_counts_every_copy():
    design = stages()
    report = validate(design)
    cost = node_cost(design, report, "s3")
    macs = 16 * 8 + 8 * 8 + 2 * 2 * 8 * 8  # copy 1 reads 16 features, the others 8
    assert cost.macs == macs
    assert cost.activations == 3 * (2 * 8 + 8)  # per copy: two Linear outputs and the GELU's


# -- live model and generated code ----------------------------------------------------------------


def test_a_repeated_linear_is_a_sequential_in_both():
    design = chain("Linear", {"out_features": 32}, 4)
    source = assert_equivalent(design)
    assert "nn.Sequential(*[nn.Linear(32, 32) for _ in range(4)])" in source
    keys = list(designer.build(design, "cpu").state_dict())
    assert keys == [f"layers.{i}.{k}" for i in range(4) for k in ("weight", "bias")]


def test_a_first_copy_that_changes_the_width_is_written_apart():
    source = assert_equivalent(chain("Linear", {"out_features": 16}, 3, shape=(64,)))
    assert "nn.Sequential(nn.Linear(64, 16), *[nn.Linear(16, 16) for _ in range(2)])" in source


def test_a_torch_module_block_keeps_readable_keys():
    kwargs = {"d_model": 16, "nhead": 2, "dim_feedforward": 32, "dropout": 0.0}
    design = chain(
        "TorchModule",
        {"target": "torch.nn.TransformerEncoderLayer", "kwargs": {**kwargs, "batch_first": True}},
        3,
        shape=(5, 16),
    )
    assert_equivalent(design)
    keys = designer.build(design, "cpu").state_dict()
    assert "layers.0.self_attn.in_proj_weight" in keys and "layers.2.linear2.bias" in keys


def test_composite_blocks_repeat_with_counts_from_expressions():
    design = stages()
    source = assert_equivalent(design)
    assert "for _ in range(depth - 1)" in source  # the inner count, as an expression
    assert "nn.Sequential(*[Stage(16, width=16, depth=1) for _ in range(2)])" in source
    keys = list(designer.build(design, "cpu").state_dict())
    assert "s3.2.layers.1.weight" in keys and "s1.layers.2.bias" in keys


def test_a_library_block_repeats():
    design = chain("DoubleConv", {"out_channels": 8}, 2, shape=(3, 8, 8))
    assert validate(design).ok
    assert_equivalent(design)
    keys = designer.build(design, "cpu").state_dict()
    assert "layers.1.double_conv.0.weight" in keys


def test_capture_reports_the_node_output():
    design = chain("Linear", {"out_features": 32}, 3)
    model = designer.build(design, "cpu").eval()
    x = torch.randn(2, 32)
    with torch.no_grad():
        out, captured = model.forward_capture(x)
    assert torch.equal(captured["layers"], out) and list(captured) == ["x", "layers", "y"]


def test_a_repeated_node_inside_a_chain_stands_alone():
    design = chain("Linear", {"out_features": 32}, 2)
    design.add_node("ReLU", node_id="act")
    design.connect("layers", "out", "act", "in")
    design.connect("act", "out", "y", "in")
    source = assert_equivalent(design)
    assert "self.layers = nn.Sequential(*[nn.Linear(32, 32) for _ in range(2)])" in source


def test_onnx_export_goes_through_a_repeated_block(tmp_path):
    result = designer.export_onnx(stages(), tmp_path / "stages.onnx")
    assert result.checked and result.ops["Gemm"] == 3 + 2 + 3 * 2


# -- files ----------------------------------------------------------------------------------------


def test_save_load_save_is_byte_identical():
    text = dumps(stages())
    again = loads(text)
    assert dumps(again) == text and again == stages()
    assert '"repeat": "depth"' in text and '"repeat": 3' in text


BAD_FILE_VALUES = [
    (0, "too few"),
    (-2, "too few"),
    (10**6, "more than"),
    (10**400, "more than"),
    (2.0, "whole number"),
    (True, "whole number"),
    (None, "whole number"),
    ([3], "whole number"),
    ("depth", "only inside a block"),
]


@pytest.mark.parametrize(("value", "words"), BAD_FILE_VALUES)
def test_hostile_top_level_counts_name_their_position(value, words):
    data = json.loads(dumps(chain("Linear", {"out_features": 32}, 2)))
    data["nodes"][1]["repeat"] = value
    with pytest.raises(DesignFileError) as caught:
        loads(json.dumps(data))
    assert caught.value.path == "$.nodes[1].repeat" and words in caught.value.problem


@pytest.mark.parametrize(
    ("value", "words"),
    [("depth +", "not an expression"), ("width2", "unknown name"), (0, "too few")],
)
def test_hostile_block_counts_name_their_position(value, words):
    data = json.loads(dumps(stages()))
    data["blocks"]["Stage"]["nodes"][1]["repeat"] = value
    with pytest.raises(DesignFileError) as caught:
        loads(json.dumps(data))
    assert caught.value.path.startswith("$.blocks.Stage.nodes[") and words in caught.value.problem


# -- the editor -----------------------------------------------------------------------------------


def editor() -> Editor:
    design = chain("Linear", {"out_features": 32}, None)
    design.add_node("ReLU", node_id="act", pos=(600, 0))
    design.disconnect("y", "in")
    design.connect("layers", "out", "act", "in")
    design.connect("act", "out", "y", "in")
    for k, node in enumerate(("x", "layers", "act", "y")):
        design.node(node)["pos"] = (260.0 * k, 0.0)
    return Editor(design)


def test_set_count_is_undoable_and_revalidates():
    ed = editor()
    ed.set_repeat("layers", 3)
    assert ed.report.total_params == 3 * linear_params(32, 32)
    assert titled("layers", ed.design.node("layers")) == "layers ×3"
    ed.set_repeat_text("layers", "5")
    assert ed.report.nodes["layers"].repeat == 5
    ed.undo()
    assert ed.design.node("layers")["repeat"] == 3
    ed.undo()
    assert "repeat" not in ed.design.node("layers")
    assert ed.report.total_params == linear_params(32, 32)
    ed.redo()
    assert ed.report.nodes["layers"].repeat == 3
    ed.set_repeat_text("layers", "")
    assert "repeat" not in ed.design.node("layers")


@pytest.mark.parametrize(("count", "words"), [(0, "too few"), ("depth", "only inside a block")])
def test_bad_counts_are_refused(count, words):
    ed = editor()
    with pytest.raises(EditRefused, match=words):
        ed.set_repeat("layers", count)
    with pytest.raises(EditRefused, match="cannot repeat"):
        ed.set_repeat("x", 2)
    assert not ed.can_undo


def test_expand_replaces_the_node_by_chained_copies_and_undoes():
    ed = editor()
    ed.set_repeat("layers", 3)
    before = dumps(ed.design)
    source = designer.generate_code(ed.design)
    nodes = ed.expand_repeat("layers")
    assert nodes == ["layers", "layers_2", "layers_3"]
    assert "repeat" not in ed.design.node("layers")
    edges = set(ed.design.edges())
    assert {("layers", "out", "layers_2", "in"), ("layers_3", "out", "act", "in")} <= edges
    assert ed.design.node("act")["pos"][0] > ed.design.node("layers_3")["pos"][0]
    assert ed.report.ok and ed.report.total_params == 3 * linear_params(32, 32)
    assert source != designer.generate_code(ed.design)
    ed.undo()
    assert dumps(ed.design) == before
    with pytest.raises(EditRefused, match="not repeated"):
        ed.expand_repeat("act")


def test_inside_a_block_the_count_is_an_expression_and_expands_to_its_value():
    ed = Editor(stages())
    ed.enter("s1")
    assert ed.report.nodes["layers"].repeat == 3
    with pytest.raises(EditRefused, match="unknown name"):
        ed.set_repeat("layers", "width2")
    ed.set_repeat("layers", "depth + 1")
    ed.leave()
    assert ed.report.nodes["s1"].params == linear_params(24, 16) + 3 * linear_params(16, 16)
    ed.enter("s1")
    assert ed.expand_repeat("layers") == ["layers", "layers_2", "layers_3", "layers_4"]
    ed.undo()
    assert ed.design.node("layers")["repeat"] == "depth + 1"


def test_copy_paste_and_grouping_keep_the_count():
    ed = editor()
    ed.set_repeat("layers", 3)
    ed.copy(["layers"])
    (pasted,) = ed.paste()
    assert ed.design.node(pasted)["repeat"] == 3
    instance = ed.group(["layers"], "Layers")
    assert ed.design.blocks["Layers"].body.node("layers")["repeat"] == 3
    assert ed.report.nodes[instance].params == 3 * linear_params(32, 32)
    ed.set_repeat(instance, 2)
    with pytest.raises(EditRefused, match="expand the repeat first"):
        ed.ungroup(instance)
    ed.set_repeat(instance, None)
    ed.ungroup(instance)
    assert ed.design.node("layers")["repeat"] == 3


def test_a_pasted_expression_count_becomes_its_value_where_names_are_missing():
    ed = Editor(stages())
    ed.enter("s1")
    ed.copy(["layers"])
    ed.leave()
    (pasted,) = ed.paste()
    assert ed.design.node(pasted)["repeat"] == 3


def test_design_copies_keep_the_count():
    design = stages()
    assert copy.deepcopy(design).node("s3")["repeat"] == 3
