"""Placement: tags, cut wires with their bytes, per-stage totals and the automatic split."""

from __future__ import annotations

import pytest
from common import EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import designs

import designer
from designer import DesignBuilder
from designer.core import placement
from designer.core.walk import flow_order


def two_branch():
    """x (3x8x8) -> a: Conv2d(4) -> c: Concat(a, b) <- b: Conv2d(6) <- x."""
    b = DesignBuilder("branches")
    x = b.input((3, 8, 8), node_id="x")
    left = b.add("Conv2d", x, node_id="a", out_channels=4, kernel_size=3, padding=1)
    right = b.add("Conv2d", x, node_id="b", out_channels=6, kernel_size=3, padding=1)
    b.output(b.add("Concat", left, right, node_id="c"), node_id="y")
    return b.build()


def test_a_wire_between_stages_is_a_cut_with_its_bytes_per_sample():
    design = two_branch()
    for node_id, tag in {"x": "0", "a": "0", "b": "1", "c": "1", "y": "1"}.items():
        design.node(node_id)["device"] = tag
    cuts = placement.cut_wires(design, designer.validate(design))
    assert [(c.src, c.dst, c.source, c.target) for c in cuts] == [
        ("x", "b", "0", "1"),
        ("a", "c", "0", "1"),
    ]
    assert [c.bytes_per_sample for c in cuts] == [3 * 8 * 8 * 4, 4 * 8 * 8 * 4]


def test_untagged_designs_have_no_cuts_and_one_total():
    design = two_branch()
    report = designer.validate(design)
    assert placement.cut_wires(design, report) == []
    assert list(placement.per_tag(design, report)) == [""]


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("cuda:1", None),
        ("cpu", None),
        ("", None),
        ("1", None),
        ("2", "stage 2 has no device: the design declares 2 stage(s)"),
        ("gpu0", "'gpu0' is not a device: use cpu, cuda, cuda:N, meta or a stage index"),
    ],
)
def test_tags_are_devices_or_declared_stages(tag, problem):
    assert placement.tag_problem(tag, stages=2) == problem


def test_a_stage_maps_to_its_device():
    design = two_branch()
    design.meta["stages"] = ["cpu", "cuda:0"]
    assert placement.device_of(design, "1") == "cuda:0"
    assert placement.device_of(design, "cuda:1") == "cuda:1"
    assert placement.device_of(design, "") is None


@pytest.mark.parametrize("by", ["memory", "macs"])
def test_unet_split_in_two_leaves_no_stage_above_55_percent(by):
    design = designer.load(EXAMPLES / "unet.json")
    report = designer.validate(design)
    placement.apply_split(design, placement.auto_split(design, report, 2, by), ["cpu", "cpu"])
    loads = {t: placement.node_load(c, by) for t, c in placement.per_tag(design, report).items()}
    assert set(loads) == {"0", "1"}
    assert max(loads.values()) <= 0.55 * sum(loads.values())
    skips = {c.src for c in placement.cut_wires(design, report)}
    assert {"inc", "down1", "down2"} & skips  # the U-Net's skips cross any split


def test_the_split_prefers_the_cheaper_cut_among_balanced_ones():
    """A chain with one fat tensor: balance allows two boundaries; the thin one is chosen."""
    b = DesignBuilder("chain")
    h = b.input((8, 16, 16), node_id="x")
    h = b.add("Conv2d", h, node_id="wide", out_channels=64, kernel_size=1)  # fat output
    h = b.add("Conv2d", h, node_id="thin", out_channels=1, kernel_size=1)  # thin output
    h = b.add("Conv2d", h, node_id="back", out_channels=64, kernel_size=1)
    b.output(h, node_id="y")
    design = b.build()
    report = designer.validate(design)
    split = placement.auto_split(design, report, 2, "macs", slack=10.0)  # balance hardly matters
    boundary = next(n for n in flow_order(design) if split.get(n) == 1)
    assert boundary == "back"  # cuts after 'thin': 16x16x1 floats instead of 16x16x64


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(designs(), st.integers(1, 4), st.sampled_from(["memory", "macs"]))
def test_splits_are_contiguous_complete_and_use_every_stage(design, stages, by):
    report = designer.validate(design)
    order = [n for n in flow_order(design) if n in report.nodes]
    stages = min(stages, len(order))
    split = placement.auto_split(design, report, stages, by)
    assigned = [split[n] for n in order]
    assert assigned == sorted(assigned)  # contiguous along the flow order
    assert set(assigned) == set(range(stages))  # no stage left empty


def test_validation_puts_a_bad_tag_on_its_node_and_the_file_keeps_tags():
    design = two_branch()
    design.node("b")["device"] = "3"
    design.meta["stages"] = ["cpu", "tpu"]
    issues = designer.validate(design).errors
    assert [(i.node, i.code) for i in issues] == [(None, "device"), ("b", "device")]
    assert "stage 3 has no device" in str(issues[1]) and "'tpu'" in str(issues[0])
    again = designer.loads(designer.core.fileformat.dumps(design))
    assert again.node("b")["device"] == "3" and again.meta["stages"] == ["cpu", "tpu"]
