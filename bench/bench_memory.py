"""Memory estimate against the measured peak: is ``designer.core.memory.estimate`` an upper bound?

Each case runs in a fresh subprocess that imports everything, loads and validates the design,
resets the peak resident set (``/proc/self/clear_refs``), does the work and reads ``VmHWM``: the
measured figure is the peak increase over the resident set before the work. Modes:

* ``run``: ``designer run --device cpu --bench 2`` (its per-node profile captures every output);
* ``editor``: the editor's Run (:func:`designer.run.session.run_design`, capture and statistics);
* ``forward``: build and one plain forward pass (no capture).

Each case is measured ``--repeat`` times and the worst (largest) peak kept: heap fragmentation
makes the peak vary by up to 20% between identical runs (it depends on where Python's own objects
land, so on the hash seed and the address layout). The estimate must bound that worst case within
1.3x: the ratio estimate / measured in [1.0, 1.3]. ``--overhead`` measures the runtime's first-use
cost on a tiny design (the basis of ``designer.core.memory.RUNTIME``).

Run: .venv/bin/python bench/bench_memory.py [--cases unet-256-run ...] [--repeat 3] [--overhead]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOW, HIGH = 1.0, 1.3
CASES = {  # name: (design, input shape, mode)
    "unet-256-run": ("unet", (1, 3, 256, 256), "run"),
    "unet-256-forward": ("unet", (1, 3, 256, 256), "forward"),
    "unet-256-editor": ("unet", (1, 3, 256, 256), "editor"),
    "unet-572-run": ("unet", (1, 3, 572, 572), "run"),
    "unet-572-forward": ("unet", (1, 3, 572, 572), "forward"),
    "unet-572-editor": ("unet", (1, 3, 572, 572), "editor"),
    "unet-256x4-run": ("unet", (4, 3, 256, 256), "run"),
    "unet-256x4-forward": ("unet", (4, 3, 256, 256), "forward"),
    "unet_bilinear-256-run": ("unet_bilinear", (1, 3, 256, 256), "run"),
    "unet_bilinear-256x4-forward": ("unet_bilinear", (4, 3, 256, 256), "forward"),
    "unet_bilinear-572-forward": ("unet_bilinear", (1, 3, 572, 572), "forward"),
    "resnet-64-run": ("resnet", (1, 3, 64, 64), "run"),
    "resnet-64x4-run": ("resnet", (4, 3, 64, 64), "run"),
    "resnet-64x4-forward": ("resnet", (4, 3, 64, 64), "forward"),
    "two_branch-64-run": ("two_branch", (1, 16, 64, 64), "run"),
    "two_branch-64x4-run": ("two_branch", (4, 16, 64, 64), "run"),
    "two_branch-64x4-forward": ("two_branch", (4, 16, 64, 64), "forward"),
    "two_branch-64-editor": ("two_branch", (1, 16, 64, 64), "editor"),
}
MiB = 2**20


# -- the child: one measurement -------------------------------------------------------------------


def _status(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _reset_peak() -> None:
    """Set VmHWM to the current resident set (Linux 4.0+)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")


def _tiny():
    from designer import DesignBuilder

    b = DesignBuilder("tiny")
    h = b.add("Conv2d", b.input((3, 32, 32)), out_channels=16, kernel_size=3, padding=1)
    b.output(b.add("ReLU", h))
    return b.build()


def measure(name: str, shape: tuple[int, ...], mode: str) -> dict:
    """Estimate and measured peak increase (bytes) of one case, in this (fresh) process."""
    import torch

    from designer.cli import run as cli_run
    from designer.core.fileformat import load
    from designer.core.memory import estimate
    from designer.core.validate import validate
    from designer.live.model import build
    from designer.run.session import ModelCache, run_design

    design = _tiny() if name == "tiny" else load(ROOT / "examples" / f"{name}.json")
    (node,) = design.nodes_of_type("Input")
    if mode == "editor":
        assert shape[0] == 1, "the editor runs at batch 1"
        design.node(node)["params"]["shape"] = list(shape[1:])
    report = validate(design, {node: shape})
    need = estimate(design, report, capture=mode != "forward")
    _reset_peak()
    before = _status("VmRSS")
    if mode == "run":
        path = str(ROOT / "examples" / f"{name}.json")
        parser = argparse.ArgumentParser()
        cli_run.add_parser(parser.add_subparsers())
        size = ",".join(map(str, shape))
        args = parser.parse_args(
            ["run", path, "--device", "cpu", "--bench", "2", "--input-shape", size]
        )
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            assert cli_run.run(args) == 0
    elif mode == "editor":
        run_design(ModelCache(), design, "cpu")
    else:
        model = build(design, "cpu", {node: shape}).eval()
        with torch.inference_mode():
            model(*model.example_inputs(shape[0]))
    measured = _status("VmHWM") - before
    return {"estimate": need.total, "parts": need.describe(), "measured": measured}


# -- the parent: a table --------------------------------------------------------------------------


def run_case(name: str, shape: tuple[int, ...], mode: str, repeat: int = 1) -> dict:
    """``measure`` in fresh interpreters (nothing earlier counted); the worst of ``repeat``."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name]
    command += [",".join(map(str, shape)), mode]
    peaks = []
    for _ in range(repeat):
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"{name} {mode} failed:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        peaks.append(result["measured"])
    result.update(measured=max(peaks), least=min(peaks))
    result["ratio"] = result["estimate"] / max(1, result["measured"])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the worst counts")
    parser.add_argument("--overhead", action="store_true", help="measure the fixed cost only")
    parser.add_argument("--child", nargs=3, metavar=("DESIGN", "SHAPE", "MODE"), help="internal")
    args = parser.parse_args()
    if args.child:
        name, shape, mode = args.child
        print(json.dumps(measure(name, tuple(map(int, shape.split(","))), mode)))
        return 0
    if args.overhead:
        for mode in ("forward", "editor"):
            r = run_case("tiny", (1, 3, 32, 32), mode)
            print(f"tiny {mode}: measured {r['measured'] / MiB:.1f} MiB ({r['parts']})")
        return 0
    print(f"{'case':28} {'estimate':>12} {'measured (least)':>23} {'ratio':>6}")
    bad = 0
    for case in args.cases:
        r = run_case(*CASES[case], repeat=args.repeat)
        ok = LOW <= r["ratio"] <= HIGH
        bad += not ok
        print(
            f"{case:28} {r['estimate'] / MiB:8.1f} MiB {r['measured'] / MiB:8.1f} MiB "
            f"({r['least'] / MiB:6.1f}) {r['ratio']:6.2f}{'' if ok else '  OUT OF RANGE'}",
            flush=True,
        )
    print(f"{len(args.cases) - bad}/{len(args.cases)} within [{LOW}, {HIGH}]")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
