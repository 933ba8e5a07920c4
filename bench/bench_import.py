"""Import speed: ``import_torch`` against ``torch.fx.symbolic_trace`` of the same module.

The importer traces with torch.fx too, then maps, merges the module classes into composite
blocks, validates the design and moves the weights (building the design once on the meta device
to learn the live model's keys), so the ratio says what all of that adds to a bare trace. Both are
timed interleaved in one run, on the seed's U-Net (1x3x572x572) and the tests' small ResNet
(1x3x64x64); the target is at most 5x. The first import in a process also loads torch's meta
kernels (seconds, once); it is printed apart and left out of the medians.

Run: .venv/bin/python bench/bench_import.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from import_models import ResNet, UNet

from designer.interop.importer import import_torch

TARGET = 5.0


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(name: str, module: torch.nn.Module, inputs: tuple, repeat: int) -> float:
    ours, fx = [], []
    for _ in range(repeat):  # interleaved, so that load on the machine hits both alike
        ours.append(timed(lambda: import_torch(module, inputs)))
        fx.append(timed(lambda: torch.fx.symbolic_trace(module)))
    a, b = statistics.median(ours) * 1e3, statistics.median(fx) * 1e3
    ratio = a / b
    verdict = "ok" if ratio <= TARGET else f"over the {TARGET:g}x target"
    print(
        f"{name}: import_torch {a:.1f} ms, fx.symbolic_trace {b:.1f} ms: {ratio:.2f}x ({verdict})"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    unet = UNet(n_channels=3, n_classes=2).eval()
    resnet = ResNet().eval()
    unet_inputs = (torch.randn(1, 3, 572, 572),)
    resnet_inputs = (torch.randn(1, 3, 64, 64),)
    cold = timed(lambda: import_torch(unet, unet_inputs))
    print(f"first import in this process (loads torch's meta kernels): {cold * 1e3:.0f} ms")
    result = import_torch(unet, unet_inputs)
    print(result.report().splitlines()[0])
    ratios = [
        compare("seed U-Net 1x3x572x572", unet, unet_inputs, args.repeat),
        compare("ResNet (BasicBlock) 1x3x64x64", resnet, resnet_inputs, args.repeat),
    ]
    print(f"worst ratio {max(ratios):.2f}x (target <= {TARGET:g}x)")


if __name__ == "__main__":
    main()
