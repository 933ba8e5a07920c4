"""Validation: every kind of broken design gets its own clear issue, anchored to node and port."""

from __future__ import annotations

from common import EXAMPLES

import designer
from designer import Analyzer, Design, DesignBuilder, validate


def issues_by_code(report):
    out = {}
    for issue in report.issues:
        out.setdefault(issue.code, []).append(issue)
    return out


def test_valid_design_has_shapes_and_counts(tiny):
    report = validate(tiny)
    assert report.ok and not report.issues
    assert report.nodes["conv"].shape == (None, 16, 32, 32)
    assert report.nodes["conv"].params == 3 * 16 * 9 + 16
    assert report.total_params == 448


def test_all_issues_are_collected_not_just_the_first():
    b = DesignBuilder("broken")
    x = b.input((3, 32, 32))
    b.add("Conv2d", x, node_id="a", out_channels=-1)
    b.add("Conv2d", x, node_id="b", kernel_size=99)
    b.design.add_node("Flux", node_id="c")
    report = validate(b.design)
    codes = issues_by_code(report)
    assert {"param", "kernel", "unknown-type", "no-output"} <= set(codes)
    assert len(report.errors) >= 4


def test_cycle_is_reported_on_every_member():
    d = Design()
    d.add_node("Input", {"shape": [4]}, node_id="x")
    for n in ("a", "b"):
        d.add_node("Linear", {"out_features": 4}, node_id=n)
    d.connect("x", "out", "a", "in")
    d.connect("a", "out", "b", "in")
    d.graph.add_edge("b", "a", key="in2", src_port="out", dst_port="in2")
    report = validate(d)
    cycles = issues_by_code(report)["cycle"]
    assert {i.node for i in cycles} == {"a", "b"}
    assert "remove one of the wires" in cycles[0].hint


def test_unconnected_input_names_the_port():
    d = Design()
    d.add_node("Input", {"shape": [3, 8, 8]}, node_id="x")
    d.add_node("PadToMatch", node_id="pad")
    d.connect("x", "out", "pad", "x")
    (issue,) = issues_by_code(validate(d))["unconnected"]
    assert (issue.node, issue.port) == ("pad", "ref")
    assert str(issue) == (
        "PadToMatch `pad` port ref: input ref is not connected; "
        "wire an output into it or delete the node"
    )


def test_variadic_gap_is_an_unconnected_input():
    d = Design()
    d.add_node("Input", {"shape": [3, 8, 8]}, node_id="x")
    d.add_node("Concat", node_id="cat")
    d.connect("x", "out", "cat", "in1")
    d.connect("x", "out", "cat", "in3")
    (issue,) = issues_by_code(validate(d))["unconnected"]
    assert issue.port == "in2"


def test_unknown_block_type_suggests_the_closest():
    d = Design()
    d.add_node("Input", {"shape": [3, 8, 8]}, node_id="x")
    d.add_node("Conv2D", node_id="conv")
    d.connect("x", "out", "conv", "in")
    (issue,) = issues_by_code(validate(d))["unknown-type"]
    assert issue.node == "conv" and issue.hint == "did you mean Conv2d?"


def test_unknown_port_is_reported():
    d = Design()
    d.add_node("Input", {"shape": [3, 8, 8]}, node_id="x")
    d.add_node("ReLU", node_id="relu")
    d.connect("x", "out", "relu", "input")
    (issue,) = issues_by_code(validate(d))["unknown-port"]
    assert issue.port == "input" and "its inputs are: in" in issue.hint


def test_wrong_type_and_out_of_range_parameters():
    b = DesignBuilder()
    x = b.input((3, 8, 8))
    b.output(b.add("Conv2d", x, node_id="conv", out_channels="64", stride=0, bias=1))
    issues = issues_by_code(validate(b.design))["param"]
    by_param = {i.param: i for i in issues}
    assert set(by_param) == {"out_channels", "stride", "bias"}
    assert "must be an integer" in by_param["out_channels"].message
    assert "out of range" in by_param["stride"].message
    assert by_param["bias"].hint == "give true or false"


def test_unknown_parameter_lists_the_known_ones():
    b = DesignBuilder()
    x = b.input((3, 8, 8))
    b.output(b.add("ReLU", x, node_id="relu", inplace=True))
    (issue,) = issues_by_code(validate(b.design))["param"]
    assert "no parameter 'inplace'" in issue.message


def test_channel_mismatch_on_add():
    b = DesignBuilder()
    x = b.input((3, 8, 8))
    a = b.add("Conv2d", x, node_id="a", out_channels=8)
    c = b.add("Conv2d", x, node_id="c", out_channels=16)
    b.output(b.add("Add", a, c, node_id="add"))
    (issue,) = issues_by_code(validate(b.design))["channels"]
    assert (issue.node, issue.port) == ("add", "in2")
    assert issue.message == "branch `a` gives 8 channels, branch `c` gives 16: Add needs them equal"
    assert issue.hint.startswith("insert a 1x1 Conv2d (out_channels=16, kernel_size=1) after `a`")


def test_rank_mismatch():
    b = DesignBuilder()
    x = b.input((3, 8, 8))
    b.output(b.add("BatchNorm1d", x, node_id="bn"))
    (issue,) = issues_by_code(validate(b.design))["rank"]
    assert "expects a 2-D or 3-D input, got 4-D N×3×8×8" in issue.message


def test_spatial_mismatch_on_concat_speaks_like_a_person():
    b = DesignBuilder()
    x = b.input((3, 142, 142))
    down = b.add("MaxPool2d", x, node_id="pool")
    pool2 = b.add("MaxPool2d", down, node_id="pool2")
    up = b.add("ConvTranspose2d", pool2, node_id="up", out_channels=3, kernel_size=2, stride=2)
    b.output(b.add("Concat", down, up, node_id="cat"))
    (issue,) = issues_by_code(validate(b.design))["mismatch"]
    assert issue.node == "cat" and issue.port == "in2"
    assert str(issue) == (
        "Concat `cat` port in2: input 2 is 70 high, input 1 is 71; "
        "insert PadToMatch or use an input size divisible by 16"
    )


def test_kernel_larger_than_input():
    b = DesignBuilder()
    x = b.input((3, 4, 4))
    b.output(b.add("Conv2d", x, node_id="conv", kernel_size=7, padding=0))
    (issue,) = issues_by_code(validate(b.design))["kernel"]
    assert "smaller than the kernel" in issue.message


def test_issue_inside_a_composite_is_anchored_to_the_inner_node():
    design = designer.load(EXAMPLES / "unet.json")
    report = validate(design, {"x": (1, 3, 8, 8)})
    (issue,) = report.errors
    assert issue.node == "down4/pool" and issue.block == "MaxPool2d"
    assert report.issues_for("down4") == [issue]
    assert str(issue).startswith("MaxPool2d `down4/pool`: the input is 1 high")


def test_unet_without_padding_reports_concat_mismatch_in_up():
    design = designer.load(EXAMPLES / "unet.json")
    report = validate(design, {"x": (1, 3, 570, 570)})
    assert report.ok  # PadToMatch absorbs odd sizes, as the seed's F.pad does
    assert report.nodes["logits"].shape == (1, 2, 570, 570)


def test_duplicate_ids_cannot_be_added():
    d = Design()
    d.add_node("ReLU", node_id="a")
    try:
        d.add_node("ReLU", node_id="a")
    except designer.DesignError as exc:
        assert "duplicate node id 'a'" in str(exc)
    else:
        raise AssertionError("duplicate id accepted")


def test_only_affected_nodes_are_recomputed_after_an_edit():
    design = designer.load(EXAMPLES / "resnet.json")
    analyzer = Analyzer()
    first = analyzer.run(design)
    assert first.recomputed == len(design)
    assert analyzer.run(design).recomputed == 0
    # same output shape: only the edited node is recomputed
    design.node("res3_conv2")["params"]["dilation"] = 1
    design.node("res3_conv2")["params"]["bias"] = True
    assert analyzer.run(design).recomputed == 1
    # a new channel count flows downstream until the Add rejects it
    design.node("res3_conv2")["params"]["out_channels"] = 64
    report = analyzer.run(design)
    downstream = {"res3_conv2", "res3_bn2", "res3_add"}
    assert report.recomputed == len(downstream)
    assert [i.node for i in report.errors] == ["res3_add"]


def test_report_json_is_plain_data(tiny):
    data = validate(tiny).to_json()
    assert data["valid"] is True and data["total_params"] == 448
    assert data["nodes"][1] == {
        "id": "conv",
        "block": "Conv2d",
        "shape": [None, 16, 32, 32],
        "output_shapes": [[None, 16, 32, 32]],
        "params": 448,
    }


def test_equal_parameters_of_another_type_are_not_shared():
    """1 == True, but a bias of 1 is refused even after an identical node with True passed."""
    for bias, ok in ((True, True), (1, False)):
        b = DesignBuilder()
        x = b.input((3, 8, 8))
        b.output(b.add("Conv2d", x, node_id="conv", bias=bias))
        assert validate(b.design).ok is ok


def test_names_moved_out_of_validate_stay_importable():
    from designer.core import infer, report, validate

    for name in ("Issue", "NodeInfo", "Report", "describe"):
        assert getattr(validate, name) is getattr(report, name)
    assert validate.freeze is infer.freeze and validate._SHARED is infer.SHARED


def test_a_parameter_value_no_memo_can_key_is_an_issue_not_a_crash():
    """A set (from Python, never from a file) can key neither the shared memo nor its frozen
    fallback: the node is inferred unshared and its parameter reported."""
    b = DesignBuilder("unhashable")
    h = b.input((3, 8, 8))
    h = b.add("Conv2d", h, out_channels=4, kernel_size={3})
    h = b.add("TorchFunction", h, target="torch.flip", kwargs={"dims": {1}})
    b.output(h)
    design = b.build()
    for report in (validate(design), Analyzer().run(design)):
        assert [(i.param, i.code) for i in report.errors] == [("kernel_size", "param")]
    design.node("conv2d")["params"]["kernel_size"] = 3
    assert [i.param for i in validate(design).errors] == ["kwargs"]
