"""``designer codegen --train-script --pipeline``: a placed design trained in its stages with
torch.distributed.pipelining, one process per stage under torchrun (gloo on the CPU)."""

from __future__ import annotations

import ast
import json
import math
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from common import EXAMPLES
from test_placement_model import chain
from train_common import ENV, tiny_unet

import designer
from designer.cli import main
from designer.codegen.writer import CodegenError, ruff_bin
from designer.train.pipeline import NotPlacedError, plan_stages
from designer.train.recipe.checkpoint import load_safetensors
from designer.train.recipe.data import open_data, split
from designer.train.recipe.objective import Meter, make_loss

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread

RUN = ["--epochs", "2", "--batch", "4", "--microbatches", "2"]


def generate(folder: Path, design_file: Path, *extra: str) -> int:
    args = [str(design_file), "-o", str(folder / "model.py")]
    return main(["codegen", *args, "--train-script", str(folder / "train.py"), *extra])


@pytest.fixture(scope="module")
def script(tmp_path_factory) -> Path:
    """model.py and the pipeline train.py for the tiny U-Net placed over cpu,cpu."""
    folder = tmp_path_factory.mktemp("pipeline")
    designer.save(tiny_unet(), folder / "tiny_unet.json")
    placed = folder / "placed.json"
    assert (
        main(["place", str(folder / "tiny_unet.json"), "--devices", "cpu,cpu", "-o", str(placed)])
        == 0
    )
    assert generate(folder, placed, "--pipeline") == 0
    return folder / "train.py"


def namespace(script: Path, monkeypatch) -> dict:
    """The script's globals; its ``model`` module is this test's (another test may have
    imported a model module of that name)."""
    monkeypatch.syspath_prepend(str(script.parent))
    monkeypatch.delitem(sys.modules, "model", raising=False)
    return runpy.run_path(str(script), run_name="train")


def launch(script: Path, *args: str, procs: int = 2) -> subprocess.CompletedProcess:
    runner = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*runner, f"--nproc_per_node={procs}", script.name, *args]
    return subprocess.run(
        command, cwd=script.parent, env=ENV, capture_output=True, text=True, timeout=240
    )


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def scores(history: list[dict]) -> list[dict]:
    """A run's metrics less the times."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def whole_model(script: Path, weights: dict):
    model = runpy.run_path(str(script.parent / "model.py"))["TinyUnet"]()
    model.load_state_dict(weights, strict=True)
    return model.eval()


def unsplit_validation(model, data: str, batch: int) -> dict[str, float]:
    """The recipe's validation of the unsplit model (the split, loss and meter of a run)."""
    samples = open_data(data)
    _, val = split(len(samples), 0.2, 0)
    meter, loss = Meter("segmentation", samples.spec.num_classes), make_loss("ce")
    with torch.no_grad():
        for i in range(0, len(val), batch):
            pairs = [samples[j] for j in val[i : i + batch]]
            x, y = (torch.stack(t) for t in zip(*pairs, strict=True))
            out = model(x)
            meter.add(loss(out, y), out, y)
    return meter.result()


# -- the stages --------------------------------------------------------------------------------


def test_stages_begin_at_the_first_module_of_each_placed_run(script):
    placed = designer.load(script.parent / "placed.json")
    stages = plan_stages(placed)
    first = next(n for n in placed.node_ids() if placed.node(n).get("device") == "1")
    assert stages.devices == ("cpu", "cpu") and stages.splits == (first,)
    text = script.read_text()
    assert f'STAGES = Stages(splits=("{first}",), devices=("cpu", "cpu"))' in text
    assert "torchrun --nproc_per_node=2 train.py" in text


def staged(tags: dict[str, str], devices: list[str]):
    """The conv chain of the placement tests, tagged, its stages on ``devices``."""
    design = chain(tags)
    design.meta["stages"] = devices
    return design


def test_a_cut_sequential_splits_at_its_member():
    from designer.train.recipe.pipeline_loop import split_model

    design = staged({"c1": "0", "r1": "0", "c2": "1", "c3": "1"}, ["cpu", "cpu"])
    stages = plan_stages(design)
    assert stages.splits == ("c1_to_c3.2",) and stages.devices == ("cpu", "cpu")
    model = exec_model(design)
    x = torch.randn(2, 3, 8, 8)
    pipe = split_model(model, x, stages.splits)
    assert pipe.num_stages == 2
    with torch.no_grad():
        torch.testing.assert_close(pipe(x)[0], model(x), rtol=0, atol=0)
    by_device = plan_stages(chain({"c1": "cuda:0", "r1": "cuda:0", "c2": "cuda:1", "c3": ""}))
    assert by_device.splits == ("c1_to_c3.2",) and by_device.devices == ("cuda:0", "cuda:1")


def exec_model(design):
    """The design's generated model class, executed and built."""
    ns: dict = {}
    exec(compile(designer.generate_code(design), "model.py", "exec"), ns)
    return next(v for k, v in ns.items() if k == "Chain")().eval()


def test_the_pipelined_forward_equals_the_unsplit_model(script, monkeypatch):
    ns = namespace(script, monkeypatch)
    torch.manual_seed(0)
    model = ns["build_model"]().eval()
    x = torch.randn(2, 3, 32, 32)
    pipe = ns["split_model"](model, x, ns["STAGES"].splits)
    assert pipe.num_stages == 2
    names = set(model.state_dict())
    for k in range(2):
        assert set(pipe.get_stage_module(k).state_dict()) < names
    with torch.no_grad():
        torch.testing.assert_close(pipe(x)[0], model(x), rtol=0, atol=0)
        assert model(x).shape == (2, 4, 32, 32)  # the split modules' forwards are restored


def test_refusals_name_the_fix(tmp_path, capsys):
    unplaced = EXAMPLES / "unet_small.json"
    assert generate(tmp_path, unplaced, "--pipeline") == 2
    assert "split it first with designer place" in capsys.readouterr().err
    assert main(["codegen", str(unplaced), "-o", str(tmp_path / "m.py"), "--pipeline"]) == 2
    assert "--pipeline needs --train-script" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing written
    with pytest.raises(NotPlacedError, match="at least two stages"):
        plan_stages(staged({"c1": "0", "c2": "0", "c3": "0"}, ["cpu"]))
    with pytest.raises(CodegenError, match="do not run one after another"):
        plan_stages(staged({"c1": "0", "r1": "1", "c2": "0"}, ["cpu", "cpu"]))
    with pytest.raises(CodegenError, match="pipeline stages run on cpu or cuda"):
        plan_stages(chain({"c1": "cpu", "c2": "meta"}))


# -- the script --------------------------------------------------------------------------------


def test_script_imports_only_torch_stdlib_pillow_and_the_model(script):
    found = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    assert found - set(sys.stdlib_module_names) == {"torch", "PIL", "model"}
    assert "recipe-local" not in script.read_text()


@pytest.mark.skipif(ruff_bin() is None, reason="ruff is not installed")
def test_script_is_ruff_clean(script):
    rules = ["--select", "E,F,W,I,B,UP,SIM,RUF", "--ignore", "RUF001,RUF002,RUF003"]
    common = ["--isolated", "--line-length", "100"]
    check = [ruff_bin(), "check", *common, *rules, "train.py"]
    done = subprocess.run(check, cwd=script.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    fmt = [ruff_bin(), "format", *common, "--check", "train.py"]
    assert subprocess.run(fmt, cwd=script.parent, capture_output=True).returncode == 0


def test_script_refuses_another_number_of_processes(script, monkeypatch, capsys):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert namespace(script, monkeypatch)["main"](["--data", "none"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: this script trains 2 pipeline stages, one process each")
    assert err.rstrip().endswith("run torchrun --nproc_per_node=2 train.py --data DIR")


def test_stage_devices_follow_the_design_or_the_device_flag(script, monkeypatch):
    ns = namespace(script, monkeypatch)
    stages = ns["Stages"](splits=("b",), devices=("cuda:0", "cpu"))
    assert ns["stage_devices"](stages, "cpu") == [torch.device("cpu")] * 2
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="stage 0 is placed on cuda:0, which this machine"):
            ns["stage_devices"](stages, "auto")
    with pytest.raises(ValueError, match="CPUs only or on GPUs only; use --device cpu"):
        ns["check_devices"]([torch.device("cuda", 0), torch.device("cpu")])
    with pytest.raises(ValueError, match="two stages share a GPU"):
        ns["check_devices"]([torch.device("cuda", 0)] * 2)


# -- training under torchrun ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpipe(script, shapes) -> tuple[subprocess.CompletedProcess, Path]:
    """Two epochs of the tiny U-Net in two stages under torchrun (GPipe): its output and folder."""
    out = script.parent / "gpipe"
    return launch(script, "--data", shapes, *RUN, "--out", str(out)), out


def test_torchrun_trains_the_stages_and_saves_each(script, shapes, gpipe):
    done, out = gpipe
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("training 2 pipeline stages (cpu, cpu), gpipe over 2 microbatches")
    assert sum(line.startswith("epoch ") for line in lines) == 2  # the last stage only
    history = rows(out)
    assert all(math.isfinite(r["train_loss"]) for r in history)
    assert history[1]["train_loss"] < history[0]["train_loss"]
    stages = [load_safetensors(out / f"stage{k}" / "last.safetensors") for k in range(2)]
    assert not set(stages[0]) & set(stages[1])
    model = whole_model(script, {**stages[0], **stages[1]})
    unsplit = unsplit_validation(model, shapes, 4)  # the same weights, not cut
    for key in ("val_loss", "val_miou"):
        assert unsplit[key] == pytest.approx(history[-1][key], rel=1e-5, abs=1e-6)
    for k in range(2):
        state = torch.load(out / f"stage{k}" / "last.state.pt", weights_only=True)
        assert state["epoch"] == 2 and set(state["model"]) == set(stages[k])


def test_1f1b_gives_the_gpipe_curve_and_resumes_from_the_stages_states(script, shapes, gpipe):
    out = script.parent / "1f1b"
    args = ["--data", shapes, *RUN, "--schedule", "1f1b", "--out", str(out)]
    done = launch(script, *args)
    assert done.returncode == 0, done.stderr
    assert "1f1b over 2 microbatches" in done.stdout
    assert scores(rows(out)) == scores(rows(gpipe[1]))  # the same microbatches, same numbers
    before = [torch.load(out / f"stage{k}" / "last.state.pt", weights_only=True) for k in range(2)]
    again = launch(script, *args, "--epochs", "3", "--resume")
    assert again.returncode == 0, again.stderr
    assert "epoch 3/3" in again.stdout and "epoch 2/3" not in again.stdout
    assert scores(rows(out)[:2]) == scores(before[0]["history"]) and len(rows(out)) == 3
    for k in range(2):
        after = torch.load(out / f"stage{k}" / "last.state.pt", weights_only=True)
        assert after["step"] == before[k]["step"] * 3 // 2  # counted on from the saved step
        assert after["optimizer"]["state"][0]["step"] == after["step"]  # the saved optimizer
