"""Grouping nodes into a composite block and ungrouping it keep the model the same."""

from __future__ import annotations

import json

import pytest
from strategies import LOCAL_BLOCKS

import designer
from designer import DesignBuilder, DesignError
from designer.core.composite import CompositeDef
from designer.core.fileformat import dumps, loads
from designer.core.validate import validate
from designer.edit.grouping import group, ungroup

EMPTY = {"format": "torch-designer", "version": 1, "nodes": [], "edges": []}


def chain():
    b = DesignBuilder("chain")
    x = b.input((3, 16, 16))
    h = b.add("Conv2d", x, node_id="conv", out_channels=8, padding=1)
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
    assert block.input_ports == ("conv_in",) and block.output_ports == ("relu_out",)
    assert [(p.name, p.default) for p in block.params] == [("out_channels", 8)]
    assert design.inputs_of(instance) == {"conv_in": ("x", "out")}
    assert design.inputs_of("add")["in1"] == (instance, "relu_out")
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
    assert block.input_ports == ("conv_in",)  # one outside source feeds both
    assert block.output_ports == ("conv_out", "proj_out")  # named after what they connect
    assert design.inputs_of("bn") == {"in": (instance, "conv_out")}
    assert design.inputs_of("add")["in2"] == (instance, "proj_out")


def test_ungroup_restores_the_nodes():
    design = chain()
    before = summary(design)
    instance = group(
        design, ["conv", "bn", "relu"], "ConvBnRelu", promote=[("conv", "out_channels")]
    )
    nodes = ungroup(design, instance)
    assert sorted(design.node(n)["type"] for n in nodes) == ["BatchNorm2d", "Conv2d", "ReLU"]
    assert summary(design) == before


def test_ungroup_restores_the_original_ids_labels_and_positions():
    """B9: grouping then ungrouping gives back the very same nodes where they were."""
    design = chain()
    for i, node_id in enumerate(design.node_ids()):
        design.node(node_id)["pos"] = (round(40.0 + 233.33 * i, 2), 40.0 + 17.5 * (i % 3))
    design.node("bn")["label"] = "norm"
    before = {n: dict(design.node(n)) for n in design.node_ids()}
    edges = set(design.edges())
    instance = group(design, ["conv", "bn", "relu"], "ConvBnRelu")
    assert ungroup(design, instance) == ["conv", "bn", "relu"]
    assert {n: dict(design.node(n)) for n in design.node_ids()} == before
    assert set(design.edges()) == edges


def test_ungroup_renames_only_inner_ids_the_design_already_has():
    design = chain()
    instance = group(design, ["bn", "relu"], "BnRelu")
    design.add_node("ReLU", node_id="relu")  # the name is taken now
    assert sorted(ungroup(design, instance)) == ["bn", "bn_relu_relu"]


def test_grouped_body_keeps_its_layout_around_the_instance():
    design = chain()
    xs = [design.node(n)["pos"][0] for n in ("conv", "bn", "relu")]
    instance = group(design, ["conv", "bn", "relu"], "ConvBnRelu")
    body = design.blocks["ConvBnRelu"].body
    inner = {n: body.node(n)["pos"][0] for n in body.node_ids()}
    assert inner["conv_in"] < inner["conv"] < inner["bn"] < inner["relu"] < inner["relu_out"]
    assert design.node(instance)["pos"][0] == round(sum(xs) / 3, 2)
    assert inner["bn"] - inner["conv"] == xs[1] - xs[0]


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


def reloads(design):
    """The design survives a file: saved, loaded, saved again byte for byte, same model."""
    text = dumps(design)
    again = loads(text)
    assert dumps(again) == text
    return again


def test_selection_feeding_nothing_gets_its_open_ends_as_outputs():
    design = chain()
    design.add_node("Conv2d", {"out_channels": 2, "padding": 1}, node_id="tail")
    design.connect("add", "out", "tail", "in")  # tail feeds nothing
    instance = group(design, ["tail"], "Tail")
    block = design.blocks["Tail"]
    assert block.input_ports == ("tail_in",) and block.output_ports == ("tail_out",)
    assert design.inputs_of(instance) == {"tail_in": ("add", "out")}
    again = reloads(design)
    assert validate(again).nodes[instance].shape == (None, 2, 16, 16)


def test_selection_fed_by_nothing_gets_its_free_inputs_as_inputs():
    design = chain()
    loose = design.add_node("Concat", node_id="cat")
    design.connect("cat", "out", design.add_node("Output", node_id="y2"), "in")
    instance = group(design, ["cat"], "Loose")
    assert design.blocks["Loose"].input_ports == ("cat_in1", "cat_in2")
    assert design.inputs_of(instance) == {}
    issues = {(i.node, i.port, i.code) for i in validate(reloads(design)).errors}
    assert issues == {(instance, "cat_in1", "unconnected"), (instance, "cat_in2", "unconnected")}
    assert loose == "cat"


def test_selection_with_no_wire_at_all_gets_both():
    design = chain()
    design.add_node("ReLU", node_id="alone")
    group(design, ["alone"], "Alone")
    block = design.blocks["Alone"]
    assert block.input_ports == ("alone_in",) and block.output_ports == ("alone_out",)
    reloads(design)


def test_selection_that_cannot_have_ports_is_refused():
    design = chain()
    design.add_node("NoSuchBlock", node_id="odd")
    with pytest.raises(DesignError, match="a block needs at least one input"):
        group(design, ["odd"], "Odd")
    assert "Odd" not in design.blocks and "odd" in design


def test_port_names_are_valid_ids_whatever_the_node_ids():
    design = chain()
    long = "n" * 64
    design.add_node("ReLU", node_id=long)
    design.connect("relu", "out", long, "in")
    design.add_node("ReLU", node_id="relu_out")  # a node id a port name would take
    design.connect(long, "out", "relu_out", "in")
    group(design, [long, "relu_out"], "Long")
    ports = design.blocks["Long"].input_ports + design.blocks["Long"].output_ports
    assert all(len(p) <= 64 for p in ports) and len(set(ports)) == 2
    reloads(design)


def test_promote_names_do_not_clash_and_bad_values_are_refused():
    design = chain()
    group(design, ["conv", "proj"], "Two", [("conv", "out_channels"), ("proj", "out_channels")])
    assert [p.name for p in design.blocks["Two"].params] == ["out_channels", "proj_out_channels"]
    reloads(design)
    broken = chain()
    broken.node("conv")["params"]["out_channels"] = 0  # as a file may hold it
    with pytest.raises(DesignError, match=r"cannot promote conv\.out_channels: .* out of range"):
        group(broken, ["conv"], "Bad", [("conv", "out_channels")])
    with pytest.raises(DesignError, match="no parameter 'width'"):
        group(chain(), ["conv"], "Bad", [("conv", "width")])


def local_design(use_bn: bool):
    """Input -> ConvUnit (a block of the design with expressions and a condition) -> Outputs."""
    b = DesignBuilder("local")
    x = b.input((3, 8, 8))
    design = b.build()
    design.blocks.update(loads(json.dumps({**EMPTY, "blocks": LOCAL_BLOCKS})).blocks)
    for block in design.blocks.values():
        block.body.blocks = design.blocks
    design.add_node("ConvUnit", {"out_channels": 4, "use_bn": use_bn}, node_id="unit")
    design.connect(x.node, "out", "unit", "x")
    for port in ("y", "raw"):
        design.connect("unit", port, design.add_node("Output", node_id=f"out_{port}"), "in")
    return design


@pytest.mark.parametrize("use_bn", [True, False])
def test_grouping_inside_a_block_forwards_its_expressions_and_conditions(use_bn):
    design = local_design(use_bn)
    before = summary(design)
    body = design.blocks["ConvUnit"].body
    instance = group(body, ["conv", "bn"], "Stem")
    unit = design.blocks["ConvUnit"]
    design.blocks["ConvUnit"] = CompositeDef("ConvUnit", body, unit.params)  # fresh memo
    stem = design.blocks["Stem"]
    assert [p.name for p in stem.params] == ["out_channels", "stride", "bn_when"]
    assert stem.body.node("bn")["when"] == "bn_when"
    assert {k: v["expr"] for k, v in body.node(instance)["params"].items()} == {
        "out_channels": "width or out_channels",
        "stride": "stride",
        "bn_when": "not not (use_bn)",
    }
    assert summary(reloads(design)) == summary(design) == before
