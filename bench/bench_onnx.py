"""ONNX export: ours against torch's exporter on a hand-written U-Net, measured in one run.

* export time: ``designer.export_onnx`` of examples/unet.json (validate, build, export, tidy,
  write; no verification) against constructing ``bench/onnx_reference_unet.py`` and
  ``torch.onnx.export(..., dynamo=True)`` + save of the same network;
* onnxruntime latency of both files on the same input (median of interleaved runs);
* graph size of both files, static and with dynamic batch, height and width.

Both exports run once beforehand, so neither pays the exporter's one-time start-up.
Run: .venv/bin/python bench/bench_onnx.py [--size 256] [--repeat 3] [--runs 10]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).parent))

from onnx_reference_unet import ReferenceUNet

import designer
from designer.interop.exporter import quiet_exporter

ROOT = Path(__file__).resolve().parent.parent


DYNAMIC = ("batch", "height", "width")


def export_ours(design, shape: tuple[int, ...], path: Path, dynamic: bool = False) -> float:
    """Seconds for the whole designer export, file written."""
    start = time.perf_counter()
    axes = DYNAMIC if dynamic else ()
    designer.export_onnx(design, path, input_shapes={"x": shape}, dynamic=axes, verify=False)
    return time.perf_counter() - start


def export_reference(shape: tuple[int, ...], path: Path, dynamic: bool = False) -> float:
    """Seconds to construct the hand-written U-Net, export it with torch and save the file."""
    start = time.perf_counter()
    model = ReferenceUNet().eval()
    dims = {axis: torch.export.Dim(name) for axis, name in zip((0, 2, 3), DYNAMIC, strict=True)}
    with quiet_exporter():
        program = torch.onnx.export(
            model,
            (torch.randn(shape),),
            dynamo=True,
            verbose=False,
            dynamic_shapes=({"x": dims} if dynamic else None),
        )
    program.save(str(path))
    return time.perf_counter() - start


def latencies(paths: dict[str, Path], x: np.ndarray, runs: int) -> dict[str, float]:
    """Median onnxruntime latency (s) of each file, runs interleaved so drift hits both alike."""
    sessions = {}
    for name, path in paths.items():
        options = ort.SessionOptions()
        options.log_severity_level = 3
        sessions[name] = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    feeds = {name: {s.get_inputs()[0].name: x} for name, s in sessions.items()}
    for name, session in sessions.items():  # warm-up
        session.run(None, feeds[name])
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(runs):
        for name, session in sessions.items():
            start = time.perf_counter()
            session.run(None, feeds[name])
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def op_summary(path: Path) -> tuple[int, str]:
    ops = Counter(n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node)
    return sum(ops.values()), ", ".join(f"{op} {n}" for op, n in ops.most_common())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="input height and width")
    parser.add_argument("--repeat", type=int, default=3, help="exports of each (best is kept)")
    parser.add_argument("--runs", type=int, default=10, help="onnxruntime runs of each file")
    args = parser.parse_args()
    shape = (1, 3, args.size, args.size)
    design = designer.load(ROOT / "examples" / "unet.json")
    with tempfile.TemporaryDirectory() as folder:
        paths = {"ours": Path(folder) / "ours.onnx", "reference": Path(folder) / "reference.onnx"}
        export_ours(design, shape, paths["ours"])  # warm-up: the exporter's start-up
        export_reference(shape, paths["reference"])
        times: dict[str, list[float]] = {"ours": [], "reference": []}
        for _ in range(args.repeat):  # interleaved, each after a collection of the last one
            gc.collect()
            times["ours"].append(export_ours(design, shape, paths["ours"]))
            gc.collect()
            times["reference"].append(export_reference(shape, paths["reference"]))
        ours, ref = min(times["ours"]), min(times["reference"])
        x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
        latency = latencies(paths, x, args.runs)
        sizes = {name: op_summary(path) for name, path in paths.items()}
        export_ours(design, shape, paths["ours"], dynamic=True)
        export_reference(shape, paths["reference"], dynamic=True)
        dynamic = {name: op_summary(path) for name, path in paths.items()}
    print(f"U-Net, input {'x'.join(map(str, shape))}, {torch.get_num_threads()} threads")
    print(f"  export: ours {ours:6.2f} s   reference {ref:6.2f} s   ratio {ours / ref:5.2f}")
    mine, theirs = latency["ours"] * 1000, latency["reference"] * 1000
    print(
        f"  onnxruntime: ours {mine:7.1f} ms   reference {theirs:7.1f} ms   "
        f"ratio {mine / theirs:5.2f}"
    )
    for label, counts in (("static", sizes), ("dynamic batch, height, width", dynamic)):
        print(f"  graph, {label}:")
        for name, (count, ops) in counts.items():
            print(f"    {name:9} {count} nodes: {ops}")


if __name__ == "__main__":
    main()
