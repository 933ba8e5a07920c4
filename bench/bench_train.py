"""Training figures (issue 13), all in one run on this machine's CPU:

* (a) ``examples/unet_small.json`` on the shapes set (256 images, 64x64): epochs and wall time until
  validation mIoU >= 0.90 (the run stops there; the cosine schedule spans ``--epochs``), with
  ``RECIPE_A``: Dice + CE, batch 8, lr 1e-3, flips and quarter turns;
* (b) the in-app loop's step time against a hand-written loop (plain torch: AdamW, cross-entropy,
  clipping; same weights, data and batch), median of paired per-epoch medians; must be <= 1.05x;
* (c) the generated ``train.py``'s loss curve against the in-app curve (same seed): <= 1%;
* (d) the script under ``torchrun --nproc_per_node=2`` (gloo, global batch unchanged) against one
  process: <= 2%.

Run: .venv/bin/python bench/bench_train.py [--threads 1] [--epochs 200] [--skip a,b,c,d]
(``--threads``: torch threads per process; on a busy 2-core machine one thread is much faster).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import designer
from designer.train.recipe.data import open_data, split
from designer.train.recipe.loop import init_weights, train
from designer.train.recipe.options import Options
from designer.train.shapes import make_shapes

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "examples" / "unet_small.json"
SCORES = ("train_loss", "val_loss", "val_miou")
LOSSES = ("train_loss", "val_loss")  # (d) compares the loss curves
TARGET = 0.90
RECIPE_A = {"batch": 8, "lr": 1e-3, "loss": "dice_ce", "augment": True}  # the tuned settings of (a)


def model():
    return designer.build(designer.load(DESIGN), "cpu")


def reach_target(data: str, out: Path, opts: Options) -> dict:
    """(a): train until val mIoU >= TARGET; the epoch, the seconds and the curve."""
    reached: dict = {}
    started = time.perf_counter()

    def report(kind: str, info: dict) -> None:
        if kind == "epoch":
            print("  " + " ".join(f"{k} {v:.4g}" for k, v in info.items()), flush=True)
            if info["val_miou"] >= TARGET and not reached:
                reached.update(epoch=info["epoch"], seconds=time.perf_counter() - started)

    result = train(model(), open_data(data), opts, report, lambda: bool(reached))
    best = max(row["val_miou"] for row in result.history)
    return {"best": best, **reached, "ran": len(result.history)}


def in_app_steps(data: str, out: Path, opts: Options) -> list[float]:
    """Seconds between the in-app loop's step reports, first step of the epoch left out."""
    stamps: list[float] = []
    train(
        model(),
        open_data(data),
        opts,
        lambda k, i: k == "step" and stamps.append(time.perf_counter()),
    )
    return [b - a for a, b in itertools.pairwise(stamps)]


def hand_written_steps(data: str, opts: Options) -> list[float]:
    """A plain torch loop on the same weights, split, batch, optimizer and loss."""
    samples = open_data(data)
    train_idx, _ = split(len(samples), opts.val_fraction, opts.seed)
    net = model()
    init_weights(net, opts.seed)
    optimizer = torch.optim.AdamW(net.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(samples, train_idx),
        batch_size=opts.batch,
        shuffle=True,
        drop_last=True,
        generator=torch.Generator().manual_seed(opts.seed),
    )
    stamps = []
    for x, y in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        loss.item()
        stamps.append(time.perf_counter())
    return [b - a for a, b in itertools.pairwise(stamps)]


def step_ratio(data: str, work: Path, opts: Options, rounds: int = 5) -> tuple[float, float, float]:
    """(b): per round (one epoch each, interleaved) the median step seconds, in-app and
    hand-written; the median of the rounds' ratios (paired, so load changes cancel out)."""
    ours, theirs = [], []
    for i in range(rounds):
        one = Options(**{**opts.__dict__, "epochs": 1, "out": str(work / f"steps{i}")})
        ours.append(statistics.median(in_app_steps(data, work, one)))
        theirs.append(statistics.median(hand_written_steps(data, one)))
    ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
    return ratio, statistics.median(ours), statistics.median(theirs)


def curve(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def gap(a: list[dict], b: list[dict], keys=SCORES) -> float:
    """The largest relative difference of ``keys`` between two curves, over every epoch."""
    return max(abs(x[k] - y[k]) / abs(y[k]) for x, y in zip(a, b, strict=True) for k in keys)


def script_curves(data: str, work: Path, opts: Options, threads: int) -> tuple[float, float]:
    """(c) and (d): the generated script alone and under torchrun against the in-app curve."""
    code = [sys.executable, "-m", "designer", "codegen", str(DESIGN), "-o", str(work / "model.py")]
    subprocess.run([*code, "--train-script", str(work / "train.py")], check=True, cwd=ROOT)
    app = train(model(), open_data(data), opts).history
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    flags = ["--data", data, "--epochs", str(opts.epochs), "--batch", str(opts.batch)]
    runs = {}
    for name, runner in (
        ("single", [sys.executable]),
        (
            "ddp",
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"],
        ),
    ):
        out = work / name
        command = [*runner, "train.py", *flags, "--out", str(out)]
        subprocess.run(command, check=True, cwd=work, env=env, capture_output=True)
        runs[name] = gap(curve(out), app, SCORES if name == "single" else LOSSES)
    return runs["single"], runs["ddp"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--epochs", type=int, default=200, help="the schedule's length for (a)")
    p.add_argument("--skip", default="", help="parts to skip, e.g. a,d")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    skip = set(args.skip.split(","))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = str(make_shapes(work / "shapes", n=256, size=64))
        base = Options(data=data, out=str(work / "run"), epochs=args.epochs)
        if "a" not in skip:
            tuned = Options(**{**base.__dict__, **RECIPE_A, "out": str(work / "a")})
            a = reach_target(data, work / "a", tuned)
            when = f"epoch {a['epoch']}, {a['seconds']:.0f} s" if "epoch" in a else "not reached"
            rows.append(
                ("(a) val mIoU >= 0.90", when, f"best {a['best']:.3f} in {a['ran']} epochs")
            )
        if "b" not in skip:
            ratio, ours, theirs = step_ratio(data, work, base)
            rows.append(
                (
                    "(b) step time in-app / hand-written",
                    f"{ratio:.3f}",
                    f"{ours * 1e3:.0f} ms / {theirs * 1e3:.0f} ms (limit 1.05)",
                )
            )
        if "c" not in skip or "d" not in skip:
            two = Options(**{**base.__dict__, "epochs": 2, "out": str(work / "app")})
            single, ddp = script_curves(data, work, two, args.threads)
            rows.append(
                ("(c) script vs in-app, worst gap", f"{single:.2e}", "2 epochs (limit 1e-2)")
            )
            rows.append(
                ("(d) torchrun x2 vs in-app, worst gap", f"{ddp:.2e}", "2 epochs (limit 2e-2)")
            )
    print(f"\ntorch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} CPUs")
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<16}  {note}")


if __name__ == "__main__":
    main()
