"""``designer export``: what a user sees, the exit statuses, and no exporter chatter."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import onnx
import pytest
import torch
from common import EXAMPLES, ROOT

import designer
from designer import DesignBuilder, save
from designer.cli import main


@pytest.fixture
def small(tmp_path):
    """A design file: Input 3x16x16 -> Conv2d -> BatchNorm2d -> ReLU -> Output ``scores``."""
    b = DesignBuilder("small")
    x = b.input((3, 16, 16), label="image")
    h = b.add("Conv2d", x, node_id="conv", out_channels=4, kernel_size=3, padding=1)
    h = b.add("BatchNorm2d", h, node_id="bn")
    b.output(b.add("ReLU", h, node_id="relu"), label="scores")
    path = tmp_path / "small.json"
    save(b.build(), path)
    return path


def test_export_prints_what_it_wrote_and_the_parity_figures(small, tmp_path, capsys):
    out_path = tmp_path / "small.onnx"
    assert main(["export", str(small), "-o", str(out_path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {out_path} (" in out and "opset 20, 2 nodes: Conv 1, Relu 1)" in out
    assert "onnx.checker (full check): passed" in out
    assert "onnxruntime vs torch at image 1x3x16x16: max abs error " in out
    assert out.rstrip().endswith("(limit 1e-04): ok")
    assert [i.name for i in onnx.load(out_path).graph.input] == ["image"]


def test_dynamic_export_checks_two_sizes(small, tmp_path, capsys):
    args = ["export", str(small), "-o", str(tmp_path / "d.onnx"), "--dynamic", "batch,height,width"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "at image 1x3x16x16:" in out and "at image 2x3x9x9:" in out


def test_no_verify_skips_the_checks(small, tmp_path, capsys):
    assert main(["export", str(small), "-o", str(tmp_path / "n.onnx"), "--no-verify"]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "onnxruntime" not in out and "checker" not in out


def test_weights_are_loaded_and_reported(small, tmp_path, capsys):
    model = designer.build(designer.load(small), device="cpu")
    torch.save(model.state_dict(), tmp_path / "w.pt")
    args = [
        "export",
        str(small),
        "-o",
        str(tmp_path / "w.onnx"),
        "--weights",
        str(tmp_path / "w.pt"),
    ]
    assert main(args) == 0
    count = len(model.state_dict())
    assert f"loaded {count} tensors from {tmp_path / 'w.pt'}" in capsys.readouterr().out


def test_weights_that_do_not_fit_exit_1_listing_keys(small, tmp_path, capsys):
    torch.save({"other.weight": torch.zeros(1)}, tmp_path / "w.pt")
    args = [
        "export",
        str(small),
        "-o",
        str(tmp_path / "w.onnx"),
        "--weights",
        str(tmp_path / "w.pt"),
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "does not fit the design:" in err and "unexpected: other.weight" in err
    assert not (tmp_path / "w.onnx").exists()


def test_missing_weights_file_exits_2(small, tmp_path, capsys):
    args = ["export", str(small), "-o", str(tmp_path / "w.onnx"), "--weights", "nope.pt"]
    assert main(args) == 2
    assert "weights file 'nope.pt' does not exist" in capsys.readouterr().err


def test_invalid_design_exits_1_with_its_issues(tmp_path, capsys):
    out_path = tmp_path / "u.onnx"
    args = ["export", str(EXAMPLES / "unet.json"), "-o", str(out_path), "--input-shape", "1,3,8,8"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "error: MaxPool2d `down4/pool`: the input is 1 high" in out
    assert "nothing was done" in out
    assert not out_path.exists()


def test_output_in_a_missing_folder_exits_2(small, tmp_path, capsys):
    assert main(["export", str(small), "-o", str(tmp_path / "no" / "m.onnx")]) == 2
    assert "does not exist; create it first" in capsys.readouterr().err


def test_unreadable_design_exits_2(tmp_path, capsys):
    assert main(["export", str(tmp_path / "none.json"), "-o", str(tmp_path / "m.onnx")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_an_unknown_dynamic_axis_is_a_usage_error(small, tmp_path, capsys):
    args = ["export", str(small), "-o", str(tmp_path / "m.onnx"), "--dynamic", "batch,time"]
    assert main(args) == 2
    assert "name axes from batch, depth, height, width, length" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-1", "0", "inf", "nan", "1e-4x"])
def test_a_tolerance_must_be_positive_and_finite(small, tmp_path, capsys, value):
    assert main(["export", str(small), "-o", str(tmp_path / "m.onnx"), "--tolerance", value]) == 2
    assert "give a positive number such as 1e-4" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--opset", "12"], 2, "'12': the exporter writes opsets 18 to "),
        (["--dynamic", "length"], 2, "no input has a length axis (x is 4-D)"),
    ],
)
def test_options_the_design_cannot_honour(small, tmp_path, capsys, args, status, message):
    assert main(["export", str(small), "-o", str(tmp_path / "m.onnx"), *args]) == status
    assert message in capsys.readouterr().err


def test_the_command_line_is_quiet_apart_from_its_result(small, tmp_path):
    """The exporter's warnings and log lines never reach the user."""
    result = subprocess.run(
        [sys.executable, "-m", "designer", "export", str(small), "-o", str(tmp_path / "q.onnx")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 3


def test_export_into_a_device_or_through_a_symlink(small, tmp_path, capsys):
    assert main(["export", str(small), "-o", os.devnull, "--no-verify"]) == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    real = tmp_path / "real.onnx"
    link = tmp_path / "link.onnx"
    link.symlink_to(real)
    assert main(["export", str(small), "-o", str(link), "--no-verify"]) == 0
    assert link.is_symlink() and onnx.load(real).graph.name == "small"
    loop = tmp_path / "loop.onnx"
    loop.symlink_to(loop)
    capsys.readouterr()
    assert main(["export", str(small), "-o", str(loop)]) == 2
    assert "is a symlink loop" in capsys.readouterr().err
