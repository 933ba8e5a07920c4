"""Running a placed design: refused before allocating where a tag names a GPU this machine lacks;
each stage's parameters and activation memory reported, each device's share checked."""

from __future__ import annotations

import pytest
import torch
from common import EXAMPLES

import designer
import designer.core.memory
from designer import DesignBuilder
from designer.core import placement
from designer.run.runner import run_problem, stage_lines, stage_uses
from designer.run.session import ModelCache, RunFailed, run_design

SHAPES = {"x": (1, 3, 64, 64)}
GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0


def chain(tags: dict[str, str], stages: list[str]):
    b = DesignBuilder("chain")
    h = b.input((3, 8, 8), node_id="x")
    h = b.add("Conv2d", h, node_id="conv", out_channels=4, kernel_size=3, padding=1)
    h = b.add("ReLU", h, node_id="relu")
    b.output(
        b.add("Conv2d", h, node_id="head", out_channels=2, kernel_size=1, padding=0), node_id="y"
    )
    design = b.build()
    for node_id, tag in tags.items():
        design.node(node_id)["device"] = tag
    design.meta["stages"] = stages
    return design


def split_unet():
    design = designer.load(EXAMPLES / "unet.json")
    report = designer.validate(design, SHAPES)
    placement.apply_split(design, placement.auto_split(design, report, 2), ["cpu", "cpu"])
    return design, report


def test_a_gpu_this_machine_lacks_is_refused_naming_the_node_and_the_fix():
    design = chain({"x": "0", "conv": "0", "relu": "1", "head": "1"}, ["cpu", f"cuda:{GPUS}"])
    problem = run_problem(design, designer.validate(design), torch.device("cpu"))
    assert problem.startswith(f"node 'relu' is placed on cuda:{GPUS} (stage 1): ")
    assert "not available" in problem or "does not exist" in problem
    assert "map stage 1 to a device this machine has" in problem


def test_the_editor_refuses_it_before_building(monkeypatch):
    design = chain({"head": f"cuda:{GPUS}"}, [])
    cache = ModelCache()
    with pytest.raises(RunFailed, match=f"node 'head' is placed on cuda:{GPUS}"):
        run_design(cache, design, "cpu")
    assert cache.model is None  # nothing was built


def test_each_stage_reports_its_parameters_and_activation_memory():
    design, report = split_unet()
    uses = stage_uses(design, report, torch.device("cpu"), capture=False)
    assert [(u.tag, u.device) for u in uses] == [("0", "cpu"), ("1", "cpu")]
    assert sum(u.params for u in uses) == report.total_params
    whole = designer.core.memory.estimate(design, report, capture=False)
    assert sum(u.need.parameters for u in uses) == pytest.approx(whole.parameters, abs=2)
    assert sum(u.need.activations for u in uses) == pytest.approx(whole.activations, abs=2)
    lines = stage_lines(uses)
    assert lines[0].startswith(f"stage 0 on cpu: {uses[0].params:,} parameters (")
    assert "activations" in lines[1]


def test_an_unplaced_design_has_no_stages_and_the_usual_check():
    design = designer.load(EXAMPLES / "unet.json")
    report = designer.validate(design, SHAPES)
    assert stage_uses(design, report, torch.device("cpu")) == []
    assert run_problem(design, report, torch.device("cpu")) is None


def test_each_device_must_hold_its_share(monkeypatch):
    design, report = split_unet()
    assert run_problem(design, report, torch.device("cpu")) is None
    monkeypatch.setattr(designer.core.memory, "available_bytes", lambda: 64 * 2**20)
    assert "64.0 MiB free on cpu" in run_problem(design, report, torch.device("cpu"))


def test_the_editor_run_of_a_split_lists_its_stages():
    design = chain({"x": "0", "conv": "0", "relu": "1", "head": "1"}, ["cpu", "cpu"])
    result = run_design(ModelCache(), design, "cpu")
    assert [s.tag for s in result.stages] == ["0", "1"]
    assert [s.params for s in result.stages] == [4 * 3 * 9 + 4, 2 * 4 + 2]
    assert result.row("head").shape == (1, 2, 8, 8)
