"""Likely mistakes (designer/core/mistakes.py): warnings with a fix, never a block on running."""

from __future__ import annotations

import pytest
from common import EXAMPLES

import designer
from designer import Analyzer, DesignBuilder, validate
from designer.core.mistakes import review


def warnings(design) -> dict[str, list]:
    """Warnings of a design by code (errors must not be among them)."""
    report = validate(design)
    assert report.ok, [str(i) for i in report.errors]
    found: dict[str, list] = {}
    for issue in report.issues:
        found.setdefault(issue.code, []).append(issue)
    return found


def image_to_linear(*between: tuple[str, dict], shape=(3, 8, 8)) -> DesignBuilder:
    """Input -> Conv2d -> blocks ``between`` -> Linear `fc` -> Output."""
    b = DesignBuilder("linear")
    h = b.add("Conv2d", b.input(shape), node_id="conv", out_channels=4, kernel_size=1)
    for i, (block, params) in enumerate(between):
        h = b.add(block, h, node_id=f"b{i}", **params)
    b.output(b.add("Linear", h, node_id="fc", out_features=10))
    return b


def test_a_linear_on_an_image_asks_for_flatten():
    (issue,) = warnings(image_to_linear(("ReLU", {}), ("BatchNorm2d", {})).build())[
        "linear-on-image"
    ]
    assert (issue.node, issue.port, issue.severity) == ("fc", "in", "warning")
    assert issue.message == (
        "Linear acts on the last dimension (W=8) only; did you mean Flatten first?"
    )
    assert "insert Flatten before it to use all C×H×W = 256 features" in issue.hint


@pytest.mark.parametrize(
    "between",
    [
        (("Flatten", {}),),  # what was meant
        (("Permute", {"dims": [0, 2, 3, 1]}),),  # channels-last on purpose (ConvNeXt)
        (("Flatten", {"start_dim": 2}), ("Transpose", {"dim0": 1, "dim1": 2})),  # tokens
    ],
)
def test_a_linear_after_a_reshape_is_fine(between):
    assert "linear-on-image" not in warnings(image_to_linear(*between).build())


def test_a_linear_on_a_4d_input_and_on_volumes_is_flagged_too():
    b = DesignBuilder("input")
    b.output(b.add("Linear", b.input((3, 8, 8)), node_id="fc", out_features=4))
    assert "linear-on-image" in warnings(b.build())
    b = DesignBuilder("volume")
    h = b.add("Conv3d", b.input((2, 4, 4, 6)), out_channels=2, kernel_size=1)
    b.output(b.add("Linear", h, node_id="fc", out_features=4))
    (issue,) = warnings(b.build())["linear-on-image"]
    assert "(W=6)" in issue.message and "AdaptiveAvgPool3d(1)" in issue.hint


def test_a_linear_on_a_sequence_is_fine():
    b = DesignBuilder("seq")
    b.output(b.add("Linear", b.input((12, 32)), node_id="fc", out_features=4))
    assert not validate(b.build()).issues


def add_of(widths: tuple[int, ...], shape=(3, 8, 8)):
    b = DesignBuilder("add")
    x = b.input(shape)
    block = "Conv2d" if len(shape) == 3 else "Linear"
    size = "out_channels" if block == "Conv2d" else "out_features"
    extra = {"kernel_size": 1} if block == "Conv2d" else {}
    branches = [
        b.add(block, x, node_id=f"br{i}_{w}", **{size: w}, **extra) for i, w in enumerate(widths)
    ]
    b.output(b.add("Add", *branches, node_id="add"))
    (issue,) = [i for i in validate(b.build()).issues if i.code == "channels"]
    assert (issue.node, issue.severity) == ("add", "error")
    return issue


def test_an_add_of_different_widths_names_both_branches_and_offers_a_1x1_conv():
    issue = add_of((16, 8))
    assert issue.port == "in2"
    assert issue.message == (
        "branch `br0_16` gives 16 channels, branch `br1_8` gives 8: Add needs them equal"
    )
    assert issue.hint == (
        "insert a 1x1 Conv2d (out_channels=16, kernel_size=1) after `br1_8` (a projection "
        "shortcut), or give both branches 16 channels"
    )


def test_an_add_of_features_offers_a_linear_and_a_third_branch_is_named():
    assert add_of((4, 6), shape=(5,)).hint.startswith(
        "insert a Linear (out_features=6) after `br0_4`"
    )
    issue = add_of((8, 8, 3))
    assert "`br2_3` gives 3" in issue.message and "`br0_8` gives 8" in issue.message


def dropout(block: str, p: float):
    b = DesignBuilder("drop")
    b.output(b.add(block, b.input((3, 8, 8)), node_id="drop", p=p))
    return b.build()


@pytest.mark.parametrize("block", ["Dropout", "Dropout2d", "DropPath"])
def test_dropout_of_everything_is_flagged(block):
    (issue,) = warnings(dropout(block, 1.0))["dropout-all"]
    assert issue.param == "p" and "lower p" in issue.hint
    assert not validate(dropout(block, 0.5)).issues


def softmax_after(block: str | None, dim: int = 1, **params):
    b = DesignBuilder("softmax")
    h = b.add("Linear", b.input((6,)), node_id="fc", out_features=4)
    if block is not None:
        h = b.add(block, h, node_id="before", **params)
    b.output(b.add("Softmax", h, node_id="sm", dim=dim))
    return b.build()


def test_a_softmax_over_the_batch_is_flagged():
    (issue,) = warnings(softmax_after(None, dim=0))["softmax-batch"]
    assert issue.param == "dim" and "dim=1" in issue.hint
    assert not warnings(softmax_after(None, dim=-1))


def test_a_softmax_of_a_softmax_and_of_squashed_scores_is_flagged():
    (issue,) = warnings(softmax_after("LogSoftmax", dim=-1))["softmax-twice"]
    assert "`before`" in issue.message
    (issue,) = warnings(softmax_after("ReLU"))["activation-before-softmax"]
    assert "ReLU (`before`) squashes the scores" in issue.message
    assert not warnings(softmax_after("Dropout"))


def test_warnings_never_block_build_code_or_export_checks():
    design = dropout("Dropout", 1.0)
    report = validate(design)
    assert report.ok and report.issues and not report.errors
    model = designer.build(design)
    assert model is not None
    assert "nn.Dropout(p=1.0)" in designer.generate_code(design)


def test_an_edit_brings_the_warning_and_takes_it_away():
    design, analyzer = dropout("Dropout", 0.5), Analyzer()
    assert not analyzer.run(design).issues
    design.node("drop")["params"]["p"] = 1.0
    assert [i.code for i in analyzer.run(design).issues] == ["dropout-all"]
    design.node("drop")["params"]["p"] = 0.2
    assert not analyzer.run(design).issues


def test_nothing_found_keeps_the_issue_list():
    design = dropout("Dropout", 0.5)
    report = validate(design)
    assert review(design, report) is report.issues


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_the_examples_have_no_likely_mistakes(path):
    assert not validate(designer.load(path)).issues
