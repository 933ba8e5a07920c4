"""``designer codegen`` and ``designer run`` end to end (in process, through ``main``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from codegen_helpers import exec_source

from designer.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
UNET = str(EXAMPLES / "unet.json")


def test_codegen_writes_a_standalone_file(tmp_path, capsys):
    out = tmp_path / "unet.py"
    assert main(["codegen", UNET, "-o", str(out), "--class-name", "UNet"]) == 0
    assert "wrote" in capsys.readouterr().out
    source = out.read_text()
    assert source.splitlines()[2:5] == [
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
    ]
    model = exec_source(source)["UNet"]()
    assert sum(p.numel() for p in model.parameters()) == 31_037_698


def test_codegen_to_stdout(capsys):
    assert main(["codegen", str(EXAMPLES / "two_branch.json")]) == 0
    assert "class TwoBranch(nn.Module):" in capsys.readouterr().out


def test_codegen_invalid_design_writes_nothing(tmp_path, capsys):
    out = tmp_path / "model.py"
    assert main(["codegen", UNET, "--input-shape", "1,3,8,8", "-o", str(out)]) == 1
    assert "down4/pool" in capsys.readouterr().out
    assert not out.exists()


def test_codegen_bad_class_name_or_templates_are_usage_errors(tmp_path, capsys):
    assert main(["codegen", UNET, "--class-name", "1x", "-o", str(tmp_path / "a.py")]) == 2
    assert "'1x' is not a Python class name" in capsys.readouterr().err
    missing = str(tmp_path / "none")
    assert main(["codegen", UNET, "--templates", missing, "-o", str(tmp_path / "a.py")]) == 2
    assert (
        capsys.readouterr().err
        == f"designer codegen: error: --templates {missing!r} is not a folder\n"
    )
    assert not (tmp_path / "a.py").exists()


def test_codegen_writes_through_a_symlink_and_into_a_device(tmp_path, capsys):
    real = tmp_path / "real.py"
    real.write_text("old")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    assert main(["codegen", UNET, "-o", str(link)]) == 0
    assert link.is_symlink() and "class Unet" in real.read_text()
    assert main(["codegen", UNET, "-o", os.devnull]) == 0
    assert Path(os.devnull).is_char_device()


def test_run_prints_nodes_latency_and_memory(capsys):
    code = main(["run", str(EXAMPLES / "two_branch.json"), "--device", "cpu", "--bench", "2"])
    assert code == 0
    out = capsys.readouterr().out
    for text in ("conv_in", "1×32×62×62", "share", "latency median", "samples/s"):
        assert text in out
    assert "peak process memory" in out


def test_run_batch_amp_channels_last(capsys):
    args = ["run", str(EXAMPLES / "resnet.json"), "--batch", "2", "--bench", "1"]
    assert main([*args, "--amp", "--channels-last", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "2×10" in out and "amp, channels-last" in out


def test_run_invalid_design_exits_1(capsys):
    assert main(["run", UNET, "--input-shape", "1,3,8,8"]) == 1
    assert "nothing was done" in capsys.readouterr().out


def test_run_refuses_a_design_too_large(capsys):
    assert main(["run", UNET, "--input-shape", "64,3,4096,4096"]) == 1
    err = capsys.readouterr().err
    assert "refusing to run" in err and "activations" in err and "TiB" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_run_cuda_without_cuda_exits_2(capsys):
    assert main(["run", UNET, "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err
