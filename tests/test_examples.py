"""The bundled examples: in sync with their generator, valid, with the seed's parameter counts."""

from __future__ import annotations

import json
import runpy

import pytest
from common import EXAMPLES

import designer
from designer.core.fileformat import design_to_dict
from designer.core.shapes import format_shape

GENERATOR = runpy.run_path(str(EXAMPLES / "build_examples.py"))


@pytest.mark.parametrize("name", sorted(GENERATOR["EXAMPLES"]))
def test_example_file_matches_its_generator(name):
    on_disk = json.loads((EXAMPLES / name).read_text())
    assert on_disk == design_to_dict(GENERATOR["EXAMPLES"][name]()), (
        f"examples/{name} is stale: run python examples/build_examples.py"
    )


@pytest.mark.parametrize("name", sorted(GENERATOR["EXAMPLES"]))
def test_example_is_valid(name):
    report = designer.validate(designer.load(EXAMPLES / name))
    assert report.ok, [str(i) for i in report.issues]
    assert not report.issues


def test_unet_matches_the_seed():
    design = designer.load(EXAMPLES / "unet.json")
    report = designer.validate(design, {"x": (1, 3, 572, 572)})
    assert report.total_params == 31_037_698
    assert report.nodes["logits"].shape == (1, 2, 572, 572)
    # odd intermediate sizes (71, 143) are padded back up by PadToMatch, as the seed's Up does
    assert report.nodes["down3"].shape == (1, 512, 71, 71)
    assert report.nodes["down4"].shape == (1, 1024, 35, 35)
    assert report.nodes["up1"].shape == (1, 512, 71, 71)


def test_bilinear_unet_matches_the_seed():
    report = designer.validate(designer.load(EXAMPLES / "unet_bilinear.json"))
    assert report.total_params == 17_263_042
    assert format_shape(report.nodes["logits"].shape) == "N×2×572×572"


def test_unet_is_assembled_from_reusable_blocks():
    design = designer.load(EXAMPLES / "unet.json")
    types = sorted({design.node(n)["type"] for n in design.node_ids()})
    assert types == ["DoubleConv", "Down", "Input", "OutConv", "Output", "Up"]


def test_residual_and_two_branch_examples_use_skips():
    resnet = designer.load(EXAMPLES / "resnet.json")
    assert len(resnet.nodes_of_type("Add")) == 3
    branches = designer.load(EXAMPLES / "two_branch.json")
    (cat,) = branches.nodes_of_type("Concat")
    assert sorted(branches.inputs_of(cat)) == ["in1", "in2"]
    report = designer.validate(branches)
    assert report.nodes[cat].shape == (None, 96, 62, 62)
