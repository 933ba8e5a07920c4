"""``designer codegen --train-script``: a standalone script running the in-app loop, under torchrun
too (DDP and FSDP2 on the CPU with gloo)."""

from __future__ import annotations

import ast
import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from common import EXAMPLES, ROOT
from train_common import ENV, SCORES, tiny_unet

import designer
from designer.cli import main
from designer.codegen.writer import ruff_bin
from designer.train.recipe.data import open_data
from designer.train.recipe.loop import train
from designer.train.recipe.options import Options

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread

LOSSES = ("train_loss", "val_loss")  # what DDP keeps within 2% (mIoU jumps early in training)
RUN = ["--epochs", "2", "--batch", "4", "--augment"]


@pytest.fixture(scope="module")
def script(tmp_path_factory) -> Path:
    """model.py and train.py for the tiny U-Net, written by ``designer codegen``."""
    folder = tmp_path_factory.mktemp("generated")
    design = folder / "tiny_unet.json"
    designer.save(tiny_unet(), design)
    args = [str(design), "-o", str(folder / "model.py"), "--train-script", str(folder / "train.py")]
    assert main(["codegen", *args]) == 0
    return folder / "train.py"


@pytest.fixture(scope="module")
def in_app(shapes, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("in_app")
    opts = Options(data=shapes, out=str(out), epochs=2, batch=4, augment=True)
    return train(designer.build(tiny_unet(), "cpu"), open_data(shapes), opts).history


def launch(script: Path, *args: str, procs: int = 0) -> subprocess.CompletedProcess:
    """Run the script in its folder, alone or under torchrun with ``procs`` processes."""
    runner = [sys.executable]
    if procs:
        runner += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}"]
    command = [*runner, script.name, *args]
    return subprocess.run(
        command, cwd=script.parent, env=ENV, capture_output=True, text=True, timeout=300
    )


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def worst_gap(a: list[dict], b: list[dict], keys=SCORES) -> float:
    """The largest relative difference between two curves (each of ``keys`` at every epoch)."""
    assert len(a) == len(b)
    pairs = zip(a, b, strict=True)
    return max(abs(x[k] - y[k]) / max(abs(y[k]), 1e-12) for x, y in pairs for k in keys)


def test_script_imports_only_torch_stdlib_pillow_and_the_model(script):
    tree = ast.parse(script.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    assert found - set(sys.stdlib_module_names) == {"torch", "PIL", "model"}
    text = script.read_text()
    assert not re.search(r"designer\.[a-z]", text) and "recipe-local" not in text


@pytest.mark.skipif(ruff_bin() is None, reason="ruff is not installed")
def test_script_is_ruff_clean(script):
    rules = ["--select", "E,F,W,I,B,UP,SIM,RUF", "--ignore", "RUF001,RUF002,RUF003"]
    common = ["--isolated", "--line-length", "100"]
    check = [ruff_bin(), "check", *common, *rules, "train.py"]
    done = subprocess.run(check, cwd=script.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    fmt = [ruff_bin(), "format", *common, "--check", "train.py"]
    assert subprocess.run(fmt, cwd=script.parent, capture_output=True).returncode == 0


def test_script_gives_the_in_app_loss_curve(script, shapes, in_app):
    out = script.parent / "single"
    done = launch(script, "--data", shapes, *RUN, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith("epoch 1/2  train_loss")
    assert worst_gap(rows(out), in_app) < 1e-6


def test_torchrun_two_processes_keep_the_curve(script, shapes, in_app):
    out = script.parent / "ddp"
    done = launch(script, "--data", shapes, *RUN, "--out", str(out), procs=2)
    assert done.returncode == 0, done.stderr
    assert "(2 processes)" in done.stdout and done.stdout.count("epoch ") == 2  # rank 0 only
    assert worst_gap(rows(out), in_app, LOSSES) < 0.02
    model = runpy.run_path(str(script.parent / "model.py"))["TinyUnet"]()
    from safetensors.torch import load_file

    model.load_state_dict(load_file(out / "best.safetensors"), strict=True)


def test_fsdp_under_torchrun(script, shapes, in_app):
    out = script.parent / "fsdp"
    args = ["--data", shapes, *RUN, "--epochs", "1", "--out", str(out), "--fsdp"]
    done = launch(script, *args, procs=2)
    assert done.returncode == 0, done.stderr
    assert worst_gap(rows(out), in_app[:1], LOSSES) < 0.02
    state = torch.load(out / "last.state.pt", weights_only=True)
    assert state["run"]["fsdp"] and state["optimizer"]["state"]  # whole, for a resume


def test_script_errors_exit_with_one_line(script, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(script.parent))
    script_main = runpy.run_path(str(script), run_name="train")["main"]
    missing = tmp_path / "none"
    assert script_main(["--data", str(missing), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {missing}: does not exist")
    with pytest.raises(SystemExit) as usage:
        script_main(["--data", str(tmp_path), "--epochs", "0"])
    assert (
        usage.value.code == 2
        and "--epochs: '0': give a value at least 1" in capsys.readouterr().err
    )


def test_codegen_train_script_usage_errors(tmp_path, capsys):
    design = str(EXAMPLES / "unet_small.json")
    script = str(tmp_path / "train.py")
    assert main(["codegen", design, "--train-script", script]) == 2
    assert "--train-script needs -o model.py" in capsys.readouterr().err
    assert (
        main(["codegen", design, "-o", str(tmp_path / "my-model.py"), "--train-script", script])
        == 2
    )
    assert "give a .py file with a module name" in capsys.readouterr().err
    model = str(tmp_path / "model.py")
    assert main(["codegen", design, "-o", model, "--train-script", model]) == 2
    assert not os.path.exists(script) and not os.path.exists(model)


def test_recipe_imports_nothing_of_designer_unmarked():
    from designer.train.script import MARK, MODULES, RECIPE

    for name in MODULES:
        for line in (RECIPE / f"{name}.py").read_text().splitlines():
            if line.startswith(("from designer", "import designer")):
                assert line.endswith(MARK) or f"{MARK}" in line, f"{name}.py: {line}"
    assert (ROOT / "designer" / "codegen" / "templates" / "train.py.j2").is_file()
