"""ONNX import speed: ``import_onnx`` against ``onnx.load`` + onnxruntime session creation.

Both read the same file and end with something ready to use: the importer parses the protobuf,
converts the graph through the converter registry, cuts it into composite blocks along the
module scopes, validates the design and moves the initializers to the live model's keys
(building the design once on the meta device); onnxruntime parses the file and builds an
optimised session. Timed interleaved in one run on examples/unet.json as ``designer export``
writes it (1x3x572x572, 31M parameters) and on the tests' seed U-Net exported by torch's dynamo
exporter (base 16, 1x3x256x256). The first import in a process also imports and warms torch's
meta kernels; it is printed apart and left out of the medians.

Run: .venv/bin/python bench/bench_import_onnx.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import onnx
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from import_models import UNet, randomized

import designer
from designer.interop.exporter import quiet_exporter
from designer.interop.onnx_import import import_onnx

ROOT = Path(__file__).resolve().parent.parent


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def runtime_ready(path: Path) -> None:
    onnx.load(path)
    ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def export_designed(folder: Path) -> Path:
    path = folder / "unet.onnx"
    designer.export_onnx(designer.load(ROOT / "examples" / "unet.json"), path, verify=False)
    return path


def export_seed(folder: Path) -> Path:
    path = folder / "seed_unet.onnx"
    model = randomized(UNet(3, 2, base=16))
    with quiet_exporter():
        inputs = (torch.randn(1, 3, 256, 256),)
        program = torch.onnx.export(model, inputs, dynamo=True, verbose=False)
    program.save(str(path))
    return path


def compare(name: str, path: Path, repeat: int) -> float:
    ours, runtime = [], []
    for _ in range(repeat):  # interleaved, so that load on the machine hits both alike
        ours.append(timed(lambda: import_onnx(path)))
        runtime.append(timed(lambda: runtime_ready(path)))
    result = import_onnx(path)
    mine, theirs = statistics.median(ours), statistics.median(runtime)
    ratio = mine / theirs
    size = path.stat().st_size / 2**20
    print(
        f"{name:<28} {size:7.1f} MiB  import {mine * 1e3:7.1f} ms  "
        f"onnx.load + session {theirs * 1e3:7.1f} ms  ratio {ratio:.2f}x  "
        f"({len(result.design)} top-level nodes, {len(result.blocks)} blocks: "
        f"{', '.join(b.name for b in result.blocks)})"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        designed, seed = export_designed(Path(tmp)), export_seed(Path(tmp))
        first = timed(lambda: import_onnx(designed))
        runtime_ready(designed)
        print(f"first import in this process (torch's meta kernels warming): {first * 1e3:.0f} ms")
        print(f"medians of {args.repeat} interleaved runs:")
        compare("unet.json (designer export)", designed, args.repeat)
        compare("seed U-Net (torch dynamo)", seed, args.repeat)


if __name__ == "__main__":
    main()
