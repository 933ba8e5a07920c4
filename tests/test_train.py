"""``designer train`` and the in-app loop: learning, checkpoints, resume, Ctrl+C, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import torch
from codegen_helpers import exec_source
from common import EXAMPLES, ROOT
from safetensors.torch import load_file
from train_common import ENV, SCORES, tiny_unet

import designer
from designer.cli import main
from designer.train.recipe.augment import augment
from designer.train.recipe.data import open_data
from designer.train.recipe.loop import TrainError, init_weights, train
from designer.train.recipe.options import Options
from designer.train.session import TrainJob

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread

KEYS = {"epoch", "train_loss", "val_loss", "val_miou", "lr", "seconds"}


@pytest.fixture(scope="module")
def design_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("design") / "tiny_unet.json"
    designer.save(tiny_unet(), path)
    return str(path)


def metrics(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def same_scores(a: list[dict], b: list[dict], tol: float = 1e-6) -> bool:
    pairs = zip(a, b, strict=False)
    return len(a) == len(b) and all(abs(x[k] - y[k]) <= tol for x, y in pairs for k in SCORES)


def run_in_app(shapes, out, epochs=3, batch=4, **extra):
    opts = Options(data=shapes, out=str(out), epochs=epochs, batch=batch, **extra)
    return train(designer.build(tiny_unet(), "cpu"), open_data(shapes), opts)


def cli(*args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "designer", "train", *args]
    pipe = subprocess.PIPE
    return subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=pipe, stderr=pipe)


def test_in_app_run_learns_and_writes_checkpoints(shapes, tmp_path):
    result = run_in_app(shapes, tmp_path, epochs=3)
    rows = metrics(tmp_path)
    assert [r["epoch"] for r in rows] == [1, 2, 3] and not result.stopped
    assert all(set(r) == KEYS for r in rows)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    fresh = designer.build(tiny_unet(), "cpu")
    for name in ("last", "best"):
        fresh.load_state_dict(load_file(tmp_path / f"{name}.safetensors"), strict=True)
    state = torch.load(tmp_path / "last.state.pt", weights_only=True)
    assert state["epoch"] == 3 and len(state["history"]) == 3


def test_live_and_generated_models_start_from_equal_weights():
    design = tiny_unet()
    live = designer.build(design, "cpu")
    generated = exec_source(designer.generate_code(design))[live.plan.model.name]()
    torch.manual_seed(123)  # the global RNG must not matter
    init_weights(live, 7)
    init_weights(generated, 7)
    a, b = live.state_dict(), generated.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    generated._modules = dict(reversed(generated._modules.items()))  # another order
    init_weights(generated, 7)
    b = generated.state_dict()
    assert list(b) != list(a) and all(torch.equal(a[k], b[k]) for k in a)
    init_weights(generated, 8)
    assert not torch.equal(a["inc.double_conv.0.weight"], b["inc.double_conv.0.weight"])


def test_resume_after_kill_continues_as_if_never_killed(shapes, design_file, tmp_path):
    run_in_app(shapes, tmp_path / "whole", epochs=4)
    killed = tmp_path / "killed"
    args = [design_file, "--data", shapes, "--epochs", "4", "--batch", "4", "--out", str(killed)]
    proc = cli(*args)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if (killed / "metrics.jsonl").is_file() and (killed / "metrics.jsonl").read_text():
            break
        time.sleep(0.02)
    proc.kill()
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it was killed"
    assert main(["train", *args, "--resume"]) == 0
    assert same_scores(metrics(killed), metrics(tmp_path / "whole"))


def test_resume_refuses_other_settings(shapes, tmp_path):
    run_in_app(shapes, tmp_path, epochs=1)
    opts = Options(data=shapes, out=str(tmp_path), epochs=2, batch=8, resume=True)
    with pytest.raises(TrainError, match="used --batch 4; resume with the same value"):
        train(designer.build(tiny_unet(), "cpu"), open_data(shapes), opts)


def test_ctrl_c_finishes_the_step_saves_and_exits_130(shapes, design_file, tmp_path):
    out = tmp_path / "run"
    proc = cli(design_file, "--data", shapes, "--epochs", "50", "--batch", "2", "--out", str(out))
    assert proc.stdout.readline().startswith(b"training on")  # the handler is in place
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.decode().splitlines() == [f"interrupted: saved {out}; continue with --resume"]
    fresh = designer.build(tiny_unet(), "cpu")
    fresh.load_state_dict(load_file(out / "last.safetensors"), strict=True)
    state = torch.load(out / "last.state.pt", weights_only=True)
    assert state["step"] >= 1 and state["epoch"] < 50


def test_job_stopped_mid_epoch_resumes_to_the_same_curve(shapes, tmp_path):
    run_in_app(shapes, tmp_path / "whole", epochs=2, batch=2)  # 10 steps an epoch: room to stop
    opts = Options(data=shapes, out=str(tmp_path / "job"), epochs=2, batch=2)
    job = TrainJob(tiny_unet(), opts)
    job.start()
    events = []
    while not any(e.kind == "step" and e.info["batch"] == 2 for e in events):
        assert job.state == "running", job.error
        events += job.poll()
        time.sleep(0.01)
    job.stop()
    assert job.join(60) and job.state == "stopped"
    events += job.poll()
    assert events[0].kind == "start" and events[-1].kind == "stopped"
    assert events[-1].info["epoch"] == 1 and 2 <= events[-1].info["batch"] < 9
    job.resume()
    assert job.join(60) and job.state == "done", job.error
    kinds = [e.kind for e in job.poll()]
    assert kinds[0] == "start" and kinds[-1] == "done" and "sample" in kinds
    assert same_scores(job.metrics, metrics(tmp_path / "whole"))
    assert job.weights == tmp_path / "job" / "best.safetensors"
    assert job.model.state_dict().keys() == load_file(job.weights).keys()


def test_augmentation_moves_image_and_mask_alike_and_is_seeded():
    x = torch.rand(3, 8, 8)
    y = x.argmax(0)
    seen = set()
    for epoch in range(8):
        ax, ay = augment(x, y, 0, epoch, 5)
        assert torch.equal(ax.argmax(0), ay)
        assert torch.equal(augment(x, y, 0, epoch, 5)[0], ax)
        seen.add(tuple(ax.flatten().tolist()))
    assert len(seen) > 2
    wide = augment(torch.rand(3, 4, 6), torch.tensor(2), 0, 1, 1)
    assert wide[0].shape == (3, 4, 6) and int(wide[1]) == 2


def test_sample_event_holds_image_and_masks(shapes, tmp_path):
    samples = []
    opts = Options(data=shapes, out=str(tmp_path), epochs=1, batch=8)
    model = designer.build(tiny_unet(), "cpu")
    train(model, open_data(shapes), opts, lambda kind, info: samples.append((kind, info)))
    (sample,) = [info for kind, info in samples if kind == "sample"]
    assert sample["image"].shape == (32, 32, 3) and sample["image"].dtype == torch.uint8
    assert sample["target"].shape == sample["prediction"].shape == (32, 32)
    assert int(sample["target"].max()) <= 3 and sample["prediction"].dtype == torch.uint8


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--epochs", "0"], "--epochs: '0': give a value at least 1"),
        (["--batch", "x"], "--batch: 'x' is not a number"),
        (["--lr", "0"], "--lr: '0': give a value above 0"),
        (["--val-fraction", "1"], "--val-fraction: '1': give a value above 0 and below 1"),
        (["--optimizer", "lbfgs"], "--optimizer: invalid choice"),
    ],
)
def test_usage_errors_exit_2(shapes, design_file, extra, message, capsys):
    assert main(["train", design_file, "--data", shapes, *extra]) == 2
    assert message in capsys.readouterr().err


def test_missing_data_and_cuda_exit_2(design_file, tmp_path, capsys):
    assert main(["train", design_file]) == 2
    assert "--data" in capsys.readouterr().err
    missing = str(tmp_path / "none")
    assert main(["train", design_file, "--data", missing, "--out", str(tmp_path / "r")]) == 2
    assert f"{missing}: does not exist" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["train", design_file, "--data", missing, "--device", "cuda"]) == 2
        assert "CUDA is not available" in capsys.readouterr().err


def test_invalid_design_and_nothing_to_resume_exit_1(shapes, tmp_path, capsys):
    broken = tmp_path / "broken.json"
    design = tiny_unet()
    design.node("x")["params"]["shape"] = [3, 2, 2]
    designer.save(design, broken)
    assert main(["train", str(broken), "--data", shapes, "--out", str(tmp_path / "r")]) == 1
    assert "error:" in capsys.readouterr().out
    good = tmp_path / "good.json"
    designer.save(tiny_unet(), good)
    assert main(["train", str(good), "--data", shapes, "--out", str(tmp_path), "--resume"]) == 1
    assert f"nothing to resume in {tmp_path}" in capsys.readouterr().err


def test_output_classes_that_do_not_match_the_data_are_named(shapes, tmp_path, capsys):
    two = tmp_path / "two.json"
    designer.save(tiny_unet(classes=2), two)
    assert main(["train", str(two), "--data", shapes, "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert f"Output `logits` gives N×2×32×32 but the data in {shapes} needs 4 class maps" in err
    assert "change `outc` (e.g. its out_channels to 4)" in err
    assert not (tmp_path / "r").exists()


def test_a_batch_too_large_for_memory_is_refused(shapes, design_file, tmp_path, capsys):
    out = str(tmp_path / "r")
    assert main(["train", design_file, "--data", shapes, "--batch", "50000000", "--out", out]) == 1
    assert "a training step would not fit" in capsys.readouterr().err
    assert not os.path.exists(out)


def test_the_loop_itself_refuses_a_mismatched_model(shapes, tmp_path):
    opts = Options(data=shapes, out=str(tmp_path), epochs=1)
    model = designer.build(tiny_unet(classes=3), "cpu")
    with pytest.raises(TrainError, match=r"gives 3x32x32 per sample.*needs a map of 4 classes"):
        train(model, open_data(shapes), opts)


def test_bundled_small_unet_fits_the_shapes_set():
    report = designer.validate(designer.load(EXAMPLES / "unet_small.json"))
    assert report.ok and report.nodes["logits"].shape == (None, 4, 64, 64)
    assert report.nodes["inc"].shape[1] == 16


def test_amp_on_the_cpu_runs_in_bfloat16(shapes, tmp_path):
    opts = replace(Options(data=shapes, out=str(tmp_path), epochs=1, batch=8), amp=True)
    result = train(designer.build(tiny_unet(), "cpu"), open_data(shapes), opts)
    assert result.history[0]["train_loss"] == pytest.approx(1.4, abs=0.6)
    assert os.path.isfile(tmp_path / "last.safetensors")
