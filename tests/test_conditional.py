"""A conditional node with several inputs: the residual Add that exists only when the shapes
agree (MobileNetV2, EfficientNet) is one block type; while off, its first input flows on."""

from __future__ import annotations

import itertools
import json

import torch
from codegen_helpers import assert_equivalent

import designer
from designer import loads, validate

RESIDUAL = {
    "doc": "Convolution, batch norm; a residual add when stride is 1 and channels agree",
    "params": [
        {"name": "out_channels", "type": "int", "default": 8, "min": 1},
        {"name": "stride", "type": "int", "default": 1, "min": 1, "max": 2},
    ],
    "nodes": [
        {"id": "x", "type": "Input"},
        {
            "id": "conv",
            "type": "Conv2d",
            "params": {
                "out_channels": {"expr": "out_channels"},
                "kernel_size": 3,
                "padding": 1,
                "stride": {"expr": "stride"},
                "bias": False,
            },
        },
        {"id": "bn", "type": "BatchNorm2d"},
        {"id": "residual", "type": "Add", "when": "stride == 1 and in_channels == out_channels"},
        {"id": "y", "type": "Output"},
    ],
    "edges": [
        {"from": "x.out", "to": "conv.in"},
        {"from": "conv.out", "to": "bn.in"},
        {"from": "bn.out", "to": "residual.in1"},
        {"from": "x.out", "to": "residual.in2"},
        {"from": "residual.out", "to": "y.in"},
    ],
}


def _design() -> designer.Design:
    nodes = [
        {"id": "image", "type": "Input", "params": {"shape": [8, 12, 12]}},
        {"id": "same", "type": "ConvBlock", "params": {"out_channels": 8}},
        {"id": "wider", "type": "ConvBlock", "params": {"out_channels": 16}},
        {"id": "down", "type": "ConvBlock", "params": {"out_channels": 16, "stride": 2}},
        {"id": "out", "type": "Output"},
    ]
    chain = ["image", "same", "wider", "down", "out"]
    edges = [
        {
            "from": f"{a}.{'out' if a == 'image' else 'y'}",
            "to": f"{b}.{'in' if b == 'out' else 'x'}",
        }
        for a, b in itertools.pairwise(chain)
    ]
    data = {
        "format": "torch-designer",
        "version": 1,
        "name": "residuals",
        "blocks": {"ConvBlock": RESIDUAL},
        "nodes": nodes,
        "edges": edges,
    }
    return loads(json.dumps(data))


def test_the_add_exists_only_where_its_condition_holds():
    design = _design()
    report = validate(design)
    assert report.ok, report.issues
    assert report.nodes["down"].out_shapes[0] == (None, 16, 6, 6)
    model = designer.build(design, "cpu").eval()
    x = torch.randn(2, 8, 12, 12)
    same, wider = (model.get_submodule(model.plan.model.path_of(n)) for n in ("same", "wider"))
    with torch.no_grad():
        (conv_bn,) = same.children()
        assert torch.allclose(same(x), conv_bn(x) + x)
        h = same(x)
        assert torch.allclose(wider(h), next(wider.children())(h))


def test_generated_code_keeps_one_class_with_the_condition():
    design = _design()
    source = assert_equivalent(design)
    assert source.count("class ConvBlock") == 1
    assert "self.use_residual = stride == 1 and in_channels == out_channels" in source
    assert "x + x if self.use_residual else" not in source
    assert " if self.use_residual else " in source
