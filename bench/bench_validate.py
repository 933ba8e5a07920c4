"""Validation speed: our shape rules against running the torch modules on the meta device.

Prints medians and ratios, measured in one run, next to the targets of the issue "Core v2":
* examples/unet.json and a 1,000-node design: a validation from scratch (a new Analyzer) with the
  process-wide memos warm (composite instances and results shared by identical nodes, as in the
  editor after the first check) and cold (memos cleared), against the live model's forward on the
  meta device;
* the U-Net's first validation in a fresh process, after imports and loading (each of
  ``--fresh`` processes validates once);
* the 1,000-node design after a one-parameter edit (an Analyzer that keeps its per-node memo),
  with the number of nodes recomputed.

Run: .venv/bin/python bench/bench_validate.py [--repeat 30] [--fresh 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from designs import residual_stack

import designer
from designer import Analyzer, validate
from designer.blocks import REGISTRY
from designer.core.infer import SHARED

ROOT = Path(__file__).resolve().parent.parent
FIRST_VALIDATION = """
import time
import designer, designer.blocks
from designer.core.validate import validate
design = designer.load({path!r})
start = time.perf_counter()
validate(design)
print((time.perf_counter() - start) * 1000)
"""


def timed_ms(fn, repeat: int) -> tuple[float, float]:
    """Median and best of ``repeat`` calls, in milliseconds (the best shows through the load of
    a shared machine)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, min(times) * 1000


def clear_caches() -> None:
    """Forget every process-wide memo: composite instances and results shared by equal nodes."""
    for spec in REGISTRY:
        if spec.composite is not None:
            spec.composite.forget()
    SHARED.clear()


def fresh_process_ms(path: Path, runs: int) -> tuple[float, float]:
    """Median and best of the first validation of ``path`` in ``runs`` fresh processes."""
    code = FIRST_VALIDATION.format(path=str(path))
    times = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
        for _ in range(runs)
    ]
    return statistics.median(times), min(times)


def meta_forward(design, shape):
    """The reference: shapes from running the live model's torch modules on the meta device."""
    import torch

    model = designer.build(design, device="cpu").to("meta").eval()
    x = torch.empty(shape, device="meta")

    def run():
        with torch.no_grad():
            model(x)

    return run


def line(name: str, ms: tuple[float, float], meta: float, note: str = "") -> None:
    median, best = ms
    print(
        f"  {name:32} {median:8.3f} ms (best {best:7.3f})  {meta / median:6.1f}x faster than meta"
        + (f"   ({note})" if note else "")
    )


def unet_figures(repeat: int, fresh: int) -> None:
    path = ROOT / "examples" / "unet.json"
    unet = designer.load(path)
    validate(unet)
    warm = timed_ms(lambda: validate(unet), repeat)
    cold = timed_ms(lambda: (clear_caches(), validate(unet)), repeat)
    first = fresh_process_ms(path, fresh)
    meta = timed_ms(meta_forward(unet, (1, 3, 572, 572)), max(5, repeat // 3))[0]
    print(f"U-Net ({len(unet)} nodes, {sum(1 for _ in unet.edges())} wires, 1x3x572x572)")
    line("validate, process caches warm", warm, meta, "target 0.15 ms")
    line("validate, process caches cold", cold, meta)
    line("first validation, fresh process", first, meta, "target 2 ms")
    print(f"  torch modules on meta device     {meta:8.2f} ms   (reference)")


def large_figures(repeat: int) -> None:
    big = residual_stack(1000)
    validate(big)
    warm = timed_ms(lambda: validate(big), repeat)
    cold = timed_ms(lambda: (clear_caches(), validate(big)), repeat)
    analyzer = Analyzer()
    analyzer.run(big)
    convs = big.nodes_of_type("Conv2d")
    params = big.node(convs[len(convs) // 2])["params"]  # a node halfway down
    recomputed = []

    def edit():
        params["dilation"] = 2 if params.get("dilation", 1) == 1 else 1
        params["padding"] = params["dilation"]
        recomputed.append(analyzer.run(big).recomputed)

    incremental = timed_ms(edit, repeat)
    meta = timed_ms(meta_forward(big, (1, 32, 64, 64)), 5)[0]
    print(f"1,000-node design ({len(big)} nodes)")
    line("validate, process caches warm", warm, meta, "target 10 ms")
    line("validate, process caches cold", cold, meta, "target 10 ms")
    line(
        "validate after one-param edit",
        incremental,
        meta,
        f"{max(recomputed)} node(s) recomputed; target 1 ms",
    )
    print(f"  torch modules on meta device     {meta:8.2f} ms   (reference)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--fresh", type=int, default=15, help="fresh processes for the first run")
    args = parser.parse_args()
    unet_figures(args.repeat, args.fresh)
    large_figures(args.repeat)


if __name__ == "__main__":
    main()
