"""Blocks take torch's defaults; files written before keep their meaning through a migration."""

from __future__ import annotations

import copy
import inspect
import json
from itertools import pairwise

import pytest
from common import EXAMPLES

from designer import validate
from designer.blocks import REGISTRY
from designer.core.fileformat import VERSION, DesignFileError, design_to_dict, dumps, loads
from designer.core.filereader import MIGRATIONS, V1_DEFAULTS

# Defaults of ours that differ from torch's on purpose.
DELIBERATE = {
    ("Softmax", "dim"): "torch's None picks a dimension implicitly (deprecated)",
    ("LogSoftmax", "dim"): "as Softmax",
    ("Upsample", "scale_factor"): "torch needs a size or a scale_factor: 2 is the common one",
    ("Upsample", "align_corners"): "torch's None means False, with a warning",
}


def v1_file(nodes: list, edges: list, blocks: dict | None = None) -> str:
    data = {"format": "torch-designer", "version": 1, "name": "old", "nodes": nodes}
    data["edges"] = edges
    if blocks is not None:
        data["blocks"] = blocks
    return json.dumps(data)


def chain(*middle: dict) -> tuple[list, list]:
    """x (3×8×8) -> middle nodes in order -> y."""
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [3, 8, 8]}}, *middle]
    nodes.append({"id": "y", "type": "Output"})
    ids = [n["id"] for n in nodes]
    edges = [{"from": f"{a}.out", "to": f"{b}.in"} for a, b in pairwise(ids)]
    return nodes, edges


def test_the_defaults_are_torchs():
    import torch.nn as nn

    for spec in REGISTRY:
        module = spec.torch
        cls = getattr(nn, module.cls, None) if module and not module.layer else None
        if cls is None:
            continue
        signature = inspect.signature(cls.__init__).parameters
        for param in spec.params:
            theirs = signature.get(param.name)
            if theirs is None or theirs.default is inspect.Parameter.empty:
                continue  # ours alone, or torch needs it given
            default = theirs.default
            default = getattr(default, "__name__", default)  # activation=F.relu: "relu"
            if (spec.name, param.name) not in DELIBERATE:
                assert param.default == default, (spec.name, param.name)


def test_an_old_conv_relying_on_padding_1_keeps_it():
    nodes, edges = chain(
        {"id": "conv", "type": "Conv2d", "params": {"out_channels": 4}},
        {"id": "up", "type": "ConvTranspose2d", "params": {"out_channels": 2}},
    )
    design = loads(v1_file(nodes, edges))
    assert design.node("conv")["params"] == {"out_channels": 4, "padding": 1}
    assert design.node("up")["params"] == {"out_channels": 2, "stride": 2}
    report = validate(design)
    assert report.nodes["conv"].shape == (None, 4, 8, 8)  # what version 1 meant
    assert report.nodes["up"].shape == (None, 2, 16, 16)


def test_explicit_values_and_other_blocks_are_left_alone():
    nodes, edges = chain(
        {"id": "a", "type": "Conv2d", "params": {"padding": 0}},
        {"id": "b", "type": "Conv1d", "params": {"padding": "same"}},
        {"id": "c", "type": "MaxPool2d"},
    )
    design = loads(v1_file(nodes, edges))
    assert design.node("a")["params"] == {"padding": 0}
    assert design.node("b")["params"] == {"padding": "same"}
    assert design.node("c")["params"] == {}


def test_the_design_own_blocks_are_migrated_and_expressions_kept():
    body = {
        "params": [{"name": "width", "type": "int", "default": 4}],
        "nodes": [
            {"id": "i", "type": "Input"},
            {"id": "conv", "type": "Conv2d", "params": {"out_channels": {"expr": "width"}}},
            {"id": "o", "type": "Output"},
        ],
        "edges": [{"from": "i.out", "to": "conv.in"}, {"from": "conv.out", "to": "o.in"}],
    }
    nodes, edges = chain({"id": "unit", "type": "Unit"})
    edges = [{"from": "x.out", "to": "unit.i"}, {"from": "unit.o", "to": "y.in"}]
    design = loads(v1_file(nodes, edges, {"Unit": body}))
    inner = design.blocks["Unit"].body.node("conv")["params"]
    assert inner == {"out_channels": {"expr": "width"}, "padding": 1}
    assert validate(design).nodes["unit"].shape == (None, 4, 8, 8)


def test_the_migration_does_not_change_what_it_reads():
    nodes, edges = chain({"id": "conv", "type": "Conv2d"})
    data = json.loads(v1_file(nodes, edges))
    before = copy.deepcopy(data)
    MIGRATIONS[1](data)
    assert data == before


def test_save_writes_the_new_version_and_the_explicit_values():
    nodes, edges = chain({"id": "conv", "type": "Conv2d", "params": {"out_channels": 4}})
    design = loads(v1_file(nodes, edges))
    data = design_to_dict(design)
    assert data["version"] == VERSION == 2
    assert data["nodes"][1]["params"] == {"out_channels": 4, "padding": 1}
    again = loads(dumps(design))
    assert again == design and dumps(again) == dumps(design)


def test_a_new_file_takes_torchs_default():
    nodes, edges = chain({"id": "conv", "type": "Conv2d", "params": {"out_channels": 4}})
    data = json.loads(v1_file(nodes, edges))
    data["version"] = VERSION
    report = validate(loads(json.dumps(data)))
    assert report.nodes["conv"].shape == (None, 4, 6, 6)


@pytest.mark.parametrize(
    ("nodes", "where"),
    [
        ("many", "$.nodes"),
        (["conv"], "$.nodes[0]"),
        ([{"id": "c", "type": ["Conv2d"]}], "$.nodes[0].type"),
        ([{"id": "c", "type": "Conv2d", "params": [1]}], "$.nodes[0].params"),
    ],
)
def test_a_malformed_old_file_is_reported_by_the_reader(nodes, where):
    with pytest.raises(DesignFileError) as caught:
        loads(v1_file(nodes, []))
    assert where in str(caught.value)


def test_every_old_default_is_a_real_parameter_now_at_torchs_value():
    for block, old in V1_DEFAULTS.items():
        spec = REGISTRY.get(block)
        for name, value in old.items():
            assert spec.param_index[name].default != value


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_the_examples_are_written_at_the_current_version(path):
    assert json.loads(path.read_text())["version"] == VERSION
