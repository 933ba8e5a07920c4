"""Grouping nodes into a composite block and ungrouping it keep the model the same."""

from __future__ import annotations

import pytest

import designer
from designer import DesignBuilder, DesignError, validate
from designer.fileformat import dumps, loads
from designer.grouping import group, ungroup


def chain():
    b = DesignBuilder("chain")
    x = b.input((3, 16, 16))
    h = b.add("Conv2d", x, node_id="conv", out_channels=8)
    h = b.add("BatchNorm2d", h, node_id="bn")
    h = b.add("ReLU", h, node_id="relu")
    skip = b.add("Conv2d", x, node_id="proj", out_channels=8, kernel_size=1, padding=0)
    b.output(b.add("Add", h, skip, node_id="add"))
    return b.build()


def summary(design):
    report = validate(design)
    assert report.ok, [str(i) for i in report.issues]
    outputs = [report.nodes[n].shape for n in design.nodes_of_type("Output")]
    return report.total_params, outputs


def test_group_infers_ports_and_keeps_the_model():
    design = chain()
    before = summary(design)
    instance = group(
        design, ["conv", "bn", "relu"], "ConvBnRelu", promote=[("conv", "out_channels")]
    )
    assert instance == "conv_bn_relu"
    block = design.blocks["ConvBnRelu"]
    assert block.input_ports == ("x",) and block.output_ports == ("y",)
    assert [(p.name, p.default) for p in block.params] == [("out_channels", 8)]
    assert design.inputs_of(instance) == {"x": ("x", "out")}
    assert design.inputs_of("add")["in1"] == (instance, "y")
    assert summary(design) == before


def test_promoted_parameter_drives_the_inner_node():
    design = chain()
    instance = group(
        design, ["conv", "bn", "relu"], "ConvBnRelu", promote=[("conv", "out_channels")]
    )
    design.node(instance)["params"]["out_channels"] = 16
    (issue,) = validate(design).errors
    assert issue.node == "add" and issue.code == "channels"


def test_grouped_design_round_trips_through_a_file():
    design = chain()
    group(design, ["conv", "bn", "relu"], "ConvBnRelu", promote=[("conv", "out_channels")])
    again = loads(dumps(design))
    assert again == design
    assert summary(again) == summary(design)


def test_fan_out_inside_gives_one_port_per_source():
    design = chain()
    instance = group(design, ["conv", "proj"], "TwoConvs")
    block = design.blocks["TwoConvs"]
    assert block.input_ports == ("x",)  # one outside source feeds both
    assert block.output_ports == ("y", "y2")
    assert design.inputs_of("bn") == {"in": (instance, "y")}
    assert design.inputs_of("add")["in2"] == (instance, "y2")


def test_ungroup_restores_the_nodes():
    design = chain()
    before = summary(design)
    instance = group(
        design, ["conv", "bn", "relu"], "ConvBnRelu", promote=[("conv", "out_channels")]
    )
    nodes = ungroup(design, instance)
    assert sorted(design.node(n)["type"] for n in nodes) == ["BatchNorm2d", "Conv2d", "ReLU"]
    assert summary(design) == before


def test_ungroup_a_library_block_evaluates_its_expressions():
    design = designer.load("examples/unet.json")
    before = summary(design)
    nodes = ungroup(design, "up1")
    types = sorted(design.node(n)["type"] for n in nodes)
    assert types == ["Concat", "ConvTranspose2d", "DoubleConv", "PadToMatch"]  # Upsample bypassed
    up = next(n for n in nodes if design.node(n)["type"] == "ConvTranspose2d")
    assert design.node(up)["params"]["out_channels"] == 512  # in_channels // 2
    assert summary(design) == before


@pytest.mark.parametrize(
    ("nodes", "name", "message"),
    [
        ([], "B", "select the nodes"),
        (["x", "conv"], "B", "Input `x` cannot go inside a block"),
        (["conv"], "lower", "is not a block name"),
        (["conv"], "Conv2d", "already exists"),
    ],
)
def test_group_refuses_with_a_reason(nodes, name, message):
    with pytest.raises(DesignError, match=message):
        group(chain(), nodes, name)
