"""Validation speed: our shape rules against running the torch modules on the meta device.

Prints medians and ratios, measured in one run:
* examples/unet.json and a 1,000-node design: a validation from scratch (a new Analyzer) with the
  process-wide memos warm (composite instances and results shared by identical nodes, as in the
  editor after the first check) and cold (as on first open), against the live model's forward on
  the meta device;
* the 1,000-node design after a one-parameter edit (an Analyzer that keeps its per-node memo),
  with the number of nodes recomputed.

Run: .venv/bin/python bench/bench_validate.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from designs import residual_stack

import designer
from designer import Analyzer, validate
from designer.blocks import REGISTRY
from designer.core.validate import _SHARED

ROOT = Path(__file__).resolve().parent.parent


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def clear_caches() -> None:
    """Forget every process-wide memo: composite instances and results shared by equal nodes."""
    for spec in REGISTRY:
        if spec.composite is not None:
            spec.composite._cache.clear()
    _SHARED.clear()


def meta_forward(design, shape):
    """The reference: shapes from running the live model's torch modules on the meta device."""
    import torch

    model = designer.build(design, device="cpu").to("meta").eval()
    x = torch.empty(shape, device="meta")

    def run():
        with torch.no_grad():
            model(x)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    unet = designer.load(ROOT / "examples" / "unet.json")
    shape = (1, 3, 572, 572)
    validate(unet)
    warm = median_ms(lambda: validate(unet), args.repeat)
    cold = median_ms(lambda: (clear_caches(), validate(unet)), args.repeat)
    meta = median_ms(meta_forward(unet, shape), max(5, args.repeat // 3))
    print(f"U-Net ({len(unet)} nodes, {sum(1 for _ in unet.edges())} wires, 1x3x572x572)")
    print(
        f"  validate, process caches warm    {warm:8.2f} ms   {meta / warm:6.1f}x faster than meta"
    )
    print(
        f"  validate, process caches cold    {cold:8.2f} ms   {meta / cold:6.1f}x faster than meta"
    )
    print(f"  torch modules on meta device     {meta:8.2f} ms   (reference)")

    big = residual_stack(1000)
    fresh = median_ms(lambda: validate(big), args.repeat)
    cold_big = median_ms(lambda: (clear_caches(), validate(big)), args.repeat)
    analyzer = Analyzer()
    analyzer.run(big)
    convs = big.nodes_of_type("Conv2d")
    params = big.node(convs[len(convs) // 2])["params"]  # a node halfway down
    recomputed = []

    def edit():
        params["dilation"] = 2 if params.get("dilation", 1) == 1 else 1
        params["padding"] = params["dilation"]
        recomputed.append(analyzer.run(big).recomputed)

    incremental = median_ms(edit, args.repeat)
    big_meta = median_ms(meta_forward(big, (1, 32, 64, 64)), 5)
    print(f"1,000-node design ({len(big)} nodes)")
    for name, ms in (("process caches warm", fresh), ("process caches cold", cold_big)):
        print(f"  validate, {name:22} {ms:8.2f} ms   {big_meta / ms:6.1f}x faster than meta")
    print(
        f"  validate after one-param edit    {incremental:8.2f} ms   "
        f"({max(recomputed)} node(s) recomputed)"
    )
    print(f"  torch modules on meta device     {big_meta:8.2f} ms   (reference)")


if __name__ == "__main__":
    main()
