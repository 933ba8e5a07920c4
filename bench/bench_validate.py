"""Validation speed: our shape rules against running the torch modules on the meta device.

Prints medians and ratios, measured in one run, next to the targets of the issue "Core v2":
* examples/unet.json and a 1,000-node design: a validation from scratch (a new Analyzer) with the
  process-wide memos warm (composite instances and results shared by identical nodes, as in the
  editor after the first check) and cold (memos cleared), against the live model's forward on the
  meta device;
* the U-Net's first validation in a fresh process, after imports and loading (each of
  ``--fresh`` processes validates once);
* the 1,000-node design after a one-parameter edit (an Analyzer that keeps its per-node memo),
  with the number of nodes recomputed;
* a warm validation of wrapper blocks (TorchModule, TorchFunction: specs from the meta device)
  per node, against the registered blocks that do the same (GELU, Softmax): their keyword
  arguments as a design file or DesignBuilder gives them (a dict, which the node holds frozen
  from Design.add_node on) and as checked values (the editor's, the importer's: FrozenKwargs);
  the ratio is the wrapper's time per node over the registered block's (target <= 1.0). The
  Softmax chain also pays for a warning on each node (a Softmax fed a Softmax);
* a 12-layer GPT (examples/build_examples.py), its blocks as one Repeat node and unrolled.

Run: .venv/bin/python bench/bench_validate.py [--repeat 30] [--fresh 15]
"""

from __future__ import annotations

import argparse
import runpy
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from designs import residual_stack

import designer
from designer import Analyzer, DesignBuilder, validate
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


def chain(name: str, blocks: list[tuple[str, dict]], shape=(16, 8, 8)):
    """Input, the blocks one after the other, Output."""
    b = DesignBuilder(name)
    h = b.input(shape)
    for block, params in blocks:
        h = b.add(block, h, **params)
    b.output(h)
    return b.build()


def checked(design):
    """The design with each node's keyword arguments checked, as the editor stores them."""
    for node_id in design.node_ids():
        data = design.node(node_id)
        if "kwargs" in data["params"]:
            param = REGISTRY.get(data["type"]).param_index["kwargs"]
            data["params"]["kwargs"] = param.coerce(data["params"]["kwargs"])
    return design


def wrapper_figures(repeat: int, nodes: int = 50) -> None:
    gelu = ("TorchModule", {"target": "nn.GELU", "kwargs": {"approximate": "tanh"}})
    softmax = ("TorchFunction", {"target": "F.softmax", "kwargs": {"dim": -1}})
    softplus = ("TorchModule", {"target": "nn.Softplus", "kwargs": {"beta": 2, "threshold": 10}})
    pairs = {  # a wrapper node holds two parameters (target, kwargs): Softplus holds two too
        "TorchModule nn.GELU": (gelu, ("GELU", {"approximate": "tanh"})),
        "TorchModule nn.Softplus": (softplus, ("Softplus", {"beta": 2, "threshold": 10})),
        "TorchFunction F.softmax": (softmax, ("Softmax", {"dim": -1})),
    }
    print(f"Wrapper blocks, warm validation per node ({nodes}-node chains; target: <= 1.0x)")
    for name, (wrapped, registered) in pairs.items():
        plain = chain("registered", [registered] * nodes)
        raw = chain("wrapped", [wrapped] * nodes)
        clean = checked(chain("wrapped", [wrapped] * nodes))
        validate(plain), validate(raw)  # the meta device runs once, here
        base = timed_ms(lambda d=plain: validate(d), repeat * 10)[0] / nodes
        for form, design in (("kwargs a dict", raw), ("kwargs checked", clean)):
            per = timed_ms(lambda d=design: validate(d), repeat * 10)[0] / nodes
            print(
                f"  {name + ', ' + form:40} {per * 1000:6.2f} us/node  "
                f"{per / base:4.2f}x {registered[0]} ({base * 1000:.2f} us/node)"
            )


def gpt_figures(repeat: int) -> None:
    gpt = runpy.run_path(str(ROOT / "examples" / "build_examples.py"))["gpt"]
    repeated = gpt(depth=12)
    unrolled = gpt(depth=1)
    params, last = unrolled.node("blocks")["params"], "blocks"
    for i in range(1, 12):  # eleven more TransformerBlock nodes in a chain after the first
        unrolled.add_node("TransformerBlock", dict(params), node_id=f"block{i}")
        unrolled.connect(last, "y", f"block{i}", "x")
        last = f"block{i}"
    unrolled.connect(last, "y", "ln_f", "in")  # rewires the final norm
    print("12-layer GPT (tiny widths; target: warm <= 2 ms)")
    for name, design in (("one Repeat node", repeated), ("12 TransformerBlock nodes", unrolled)):
        assert validate(design).ok, validate(design).errors
        warm = timed_ms(lambda d=design: validate(d), repeat)
        cold = timed_ms(lambda d=design: (clear_caches(), validate(d)), repeat)
        print(
            f"  {name:26} ({len(design):2} nodes)  warm {warm[0]:6.3f} ms (best {warm[1]:.3f})"
            f"  caches cold {cold[0]:6.3f} ms (best {cold[1]:.3f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--fresh", type=int, default=15, help="fresh processes for the first run")
    args = parser.parse_args()
    unet_figures(args.repeat, args.fresh)
    large_figures(args.repeat)
    wrapper_figures(args.repeat)
    gpt_figures(args.repeat)


if __name__ == "__main__":
    main()
