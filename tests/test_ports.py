"""Blocks with optional inputs and several outputs, dtypes and symbolic sizes through validation,
and the classic shape rules adapted to tensor specs."""

from __future__ import annotations

import pytest

from designer import Analyzer, Design, validate
from designer.blocks import REGISTRY, BlockSpec
from designer.core.fileformat import loads
from designer.core.forms import Functional
from designer.core.params import Param
from designer.core.shapes import ShapeError
from designer.core.tensor import FLOATING, TensorSpec


def _split(params, specs):
    """Halves of the last dimension, as two outputs; ``mask`` (optional) must be bool."""
    x, mask = specs
    if x.dtype not in FLOATING:
        raise ShapeError(f"x is {x.dtype}", "feed floats", 0, "dtype")
    if mask is not None and mask.dtype != "bool":
        raise ShapeError(f"the mask is {mask.dtype}", "feed a bool mask", 1, "dtype")
    *rest, size = x.shape
    return [x.with_shape((*rest, size // 2)), x.with_shape((*rest, size - size // 2))]


SPLIT = BlockSpec(
    "TestSplit",
    "Utility",
    "Two halves",
    inputs=("x", "mask"),
    optional_inputs=("mask",),
    outputs=("a", "b"),
    tensor_rule=_split,
)


@pytest.fixture
def split():
    REGISTRY.add(SPLIT)
    yield SPLIT
    REGISTRY.discard(SPLIT.name)


def _design(mask: dict | None = None) -> Design:
    d = Design()
    d.add_node("Input", {"shape": ["T", 7]}, node_id="x")
    d.add_node("TestSplit", node_id="split")
    d.add_node("Output", node_id="ya")
    d.add_node("Output", node_id="yb")
    d.connect("x", "out", "split", "x")
    d.connect("split", "a", "ya", "in")
    d.connect("split", "b", "yb", "in")
    if mask is not None:
        d.add_node("Input", mask, node_id="m")
        d.connect("m", "out", "split", "mask")
    return d


def test_an_unwired_optional_input_is_no_issue(split):
    report = validate(_design())
    assert report.ok and not report.issues
    info = report.nodes["split"]
    assert info.in_specs[1] is None and info.in_shapes == ((None, None, 7), None)
    assert info.ports == ("a", "b")


def test_each_output_port_has_its_own_spec(split):
    report = validate(_design({"shape": ["T", 7], "dtype": "bool"}))
    assert report.ok
    assert report.nodes["split"].out_specs == (
        TensorSpec.of(("N", "T", 3)),
        TensorSpec.of(("N", "T", 4)),
    )
    assert report.nodes["ya"].spec.dims == ("N", "T", 3)
    assert report.nodes["yb"].spec.dims == ("N", "T", 4)


def test_a_wired_optional_input_is_checked(split):
    (issue,) = validate(_design({"shape": ["T", 7], "dtype": "int64"})).errors
    assert (issue.node, issue.port, issue.code) == ("split", "mask", "dtype")


def test_a_required_input_stays_required(split):
    d = _design()
    d.disconnect("split", "x")
    (issue,) = validate(d).errors
    assert (issue.port, issue.code) == ("x", "unconnected")


def test_the_classic_view_of_a_tensor_rule(split):
    assert split.shape({}, [(None, 4, 6), None]) == [(None, 4, 3), (None, 4, 3)]
    assert split.declared_rule is _split and split.required_inputs == ("x",)


def test_block_specs_refuse_unknown_optional_inputs_and_no_rule():
    with pytest.raises(ValueError, match="optional"):
        BlockSpec("Bad", "Utility", "", shape=lambda p, s: s[0], optional_inputs=("nope",))
    with pytest.raises(ValueError, match="rule"):
        BlockSpec("Bad", "Utility", "")


def test_classic_rules_keep_symbols_and_dtype():
    d = Design()
    d.add_node("Input", {"shape": ["T", "N", 32]}, node_id="x")
    d.add_node("Linear", {"out_features": 8}, node_id="fc")
    d.add_node("Identity", node_id="id")
    d.add_node("Output", node_id="y")
    d.connect("x", "out", "fc", "in"), d.connect("fc", "out", "id", "in")
    d.connect("id", "out", "y", "in")
    report = validate(d)
    assert report.nodes["y"].spec.dims == ("T", "N", 8)
    assert report.nodes["fc"].params == 32 * 8 + 8
    d.node("x")["params"]["dtype"] = "int64"
    d.remove_node("fc"), d.connect("x", "out", "id", "in")
    assert validate(d).nodes["y"].spec == TensorSpec.of(("T", "N", 32), "int64")


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"shape": [16, "T"]}, "symbolic", "needs a fixed size in dimension 2 of N×16×T"),
        ({"shape": [16, 20], "dtype": "int64"}, "dtype", "takes floating-point tensors"),
        ({"shape": [16, 20], "dtype": "bool"}, "dtype", "input 1 is bool"),
    ],
)
def test_a_classic_rule_refuses_what_it_cannot_take(params, code, words):
    d = Design()
    d.add_node("Input", params, node_id="x")
    d.add_node("Conv1d", {"out_channels": 8}, node_id="conv")
    d.add_node("Output", node_id="y")
    d.connect("x", "out", "conv", "in"), d.connect("conv", "out", "y", "in")
    (issue,) = validate(d).errors
    assert (issue.node, issue.port, issue.code) == ("conv", "in", code)
    assert words in issue.message and issue.hint


def test_report_json_shows_specs_only_where_they_say_more():
    d = Design()
    d.add_node("Input", {"shape": ["T"], "dtype": "int64"}, node_id="x")
    d.add_node("Output", node_id="y")
    d.connect("x", "out", "y", "in")
    first, last = validate(d).to_json()["nodes"]
    assert first["output_specs"] == [{"dims": ["N", "T"], "dtype": "int64"}]
    assert last["spec"] == {"dims": ["N", "T"], "dtype": "int64"} and "output_specs" not in last


BLOCK = """{"format": "torch-designer", "version": 1, "name": "ids",
 "blocks": {"Pass": {"nodes": [{"id": "i", "type": "Input"}, {"id": "k", "type": "Identity"},
                               {"id": "o", "type": "Output"}],
                     "edges": [{"from": "i.out", "to": "k.in"}, {"from": "k.out", "to": "o.in"}]}},
 "nodes": [{"id": "x", "type": "Input", "params": {"shape": ["T"], "dtype": "int64"}},
           {"id": "p", "type": "Pass"}, {"id": "y", "type": "Output"}],
 "edges": [{"from": "x.out", "to": "p.i"}, {"from": "p.o", "to": "y.in"}]}"""


def test_dtypes_and_symbols_flow_through_composite_blocks():
    design = loads(BLOCK)
    report = validate(design)
    assert report.nodes["y"].spec == TensorSpec.of(("N", "T"), "int64")
    info = report.nodes["p"]
    composite = design.blocks["Pass"]
    by_shapes = composite.instantiate(info.values, list(info.in_shapes))
    assert by_shapes is composite.instantiate(info.values, list(info.in_specs))
    assert by_shapes.report.nodes["k"].spec.dtype == "int64"
    assert [n for n in by_shapes.body.node_ids()] == ["i", "k", "o"]


def test_an_edit_of_the_dtype_reaches_downstream():
    d = Design()
    d.add_node("Input", {"shape": [4, 8]}, node_id="x")
    d.add_node("Conv1d", {"out_channels": 2}, node_id="conv")
    d.add_node("Output", node_id="y")
    d.connect("x", "out", "conv", "in"), d.connect("conv", "out", "y", "in")
    analyzer = Analyzer()
    assert analyzer.run(d).ok
    d.node("x")["params"]["dtype"] = "int64"
    report = analyzer.run(d)
    assert [i.code for i in report.errors] == ["dtype"] and "y" not in report.nodes
    d.node("x")["params"]["dtype"] = "float32"
    assert analyzer.run(d).ok


def _layer_norm_rule(params, specs):
    x, weight, bias = specs
    for port, given in ((1, weight), (2, bias)):
        if given is not None and given.shape != x.shape[-1:]:
            raise ShapeError("wrong affine size", "match the last dimension", port, "mismatch")
    return x


AFFINE = BlockSpec(
    "TestAffineNorm",
    "Utility",
    "layer_norm with optional weight and bias inputs, passed by keyword",
    inputs=("input", "weight", "bias"),
    optional_inputs=("weight", "bias"),
    tensor_rule=_layer_norm_rule,
    functional=Functional("torch.nn.functional.layer_norm", keywords=("normalized_shape",)),
    params=(Param("normalized_shape", "shape", (4,), "Normalised sizes."),),
)


def test_optional_ports_follow_the_required_ones():
    with pytest.raises(ValueError, match="after the required ones"):
        BlockSpec("Bad", "Utility", "", shape=_split, inputs=("m", "x"), optional_inputs=("m",))


def test_a_wired_optional_port_after_a_gap_is_passed_by_keyword():
    """Only ``bias`` is wired: the live model and the code pass it as ``bias=``, not in the
    weight's place."""
    import torch
    from codegen_helpers import exec_source

    from designer import build, generate_code

    REGISTRY.add(AFFINE)
    try:
        d = Design(name="affine")
        d.add_node("Input", {"shape": [3, 4]}, node_id="x")
        d.add_node("Input", {"shape": ["N", 4]}, node_id="b")
        d.add_node("TestAffineNorm", node_id="norm")
        d.add_node("Output", node_id="y")
        d.connect("x", "out", "norm", "input")
        d.connect("b", "out", "norm", "bias")
        d.connect("norm", "out", "y", "in")
        assert validate(d, {"b": (4,)}).ok
        x, b = torch.randn(2, 3, 4), torch.randn(4)
        want = torch.nn.functional.layer_norm(x, (4,), bias=b)
        assert torch.allclose(build(d, "cpu", {"b": (4,)})(x, b), want)
        source = generate_code(d, input_shapes={"b": (4,)})
        assert "bias=b" in source
        assert torch.allclose(exec_source(source)["Affine"]()(x, b), want)
    finally:
        REGISTRY.discard(AFFINE.name)
