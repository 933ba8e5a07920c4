"""The example U-Net split in two stages against the unsplit model: outputs, time per forward and
the bytes that cross each cut.

The split is the automatic one by memory (``placement.auto_split``); its stages go on the devices
given (default ``cuda:0,cpu`` where CUDA is available, else ``cpu,cpu``, which runs the whole code
path of a split on one device). Both models hold the same weights; prints the largest absolute
difference of their outputs (target: at most 1e-5), the median seconds per forward of each, and
every cut wire with its bytes per sample and per batch. Also runs the generated code's class on
the same devices and compares it with the live split.

Run: .venv/bin/python bench/bench_split.py [--devices cuda:0,cpu] [--size 256] [--batch 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import designer  # noqa: E402
from designer.core import placement  # noqa: E402
from designer.core.memory import human_bytes  # noqa: E402

TOLERANCE = 1e-5


def seconds_per_forward(model, x, repeats: int) -> float:
    """Median seconds per forward, waiting for every CUDA device after each."""

    def sync() -> None:
        for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
            torch.cuda.synchronize(i)

    with torch.inference_mode():
        model(x)
        sync()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            sync()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    default = "cuda:0,cpu" if torch.cuda.is_available() else "cpu,cpu"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default=default)
    parser.add_argument("--size", type=int, default=256, help="input height and width")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    devices = args.devices.split(",")
    shapes = {"x": (args.batch, 3, args.size, args.size)}

    design = designer.load(ROOT / "examples" / "unet.json")
    report = designer.validate(design, shapes)
    placement.apply_split(design, placement.auto_split(design, report, len(devices)), devices)
    home = devices[0]
    whole = designer.build(designer.load(ROOT / "examples" / "unet.json"), home, shapes).eval()
    split = designer.build(design, home, shapes).eval()
    split.load_state_dict(whole.state_dict(), strict=True)

    torch.manual_seed(0)
    x = torch.randn(shapes["x"], device=home)
    with torch.inference_mode():
        expected, got = whole(x), split(x)
    diff = (expected - got.to(expected.device)).abs().max().item()
    print(f"U-Net {shapes['x']} split over {', '.join(devices)}: max abs difference {diff:.2e}")

    namespace: dict = {"__name__": "generated"}
    exec(compile(designer.generate_code(design), "<generated>", "exec"), namespace)
    generated = namespace[split.plan.model.name](*devices).eval()
    generated.load_state_dict(whole.state_dict(), strict=True)
    with torch.inference_mode():
        code_diff = (generated(x) - got).abs().max().item()
    print(f"generated code vs live split: max abs difference {code_diff:.2e}")

    unsplit_s = seconds_per_forward(whole, x, args.repeat)
    split_s = seconds_per_forward(split, x, args.repeat)
    print(f"time per forward: unsplit {unsplit_s * 1e3:.2f} ms, split {split_s * 1e3:.2f} ms")
    for cut in placement.cut_wires(design, report):
        print(
            f"  cut {cut.src} -> {cut.dst} (stage {cut.source} -> {cut.target}): "
            f"{human_bytes(cut.bytes_per_sample)} per sample, "
            f"{human_bytes(cut.bytes_per_sample * args.batch)} per batch"
        )
    ok = diff <= TOLERANCE and code_diff <= TOLERANCE
    print("ok" if ok else f"FAILED: beyond {TOLERANCE:.0e}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
