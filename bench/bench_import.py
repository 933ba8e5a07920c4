"""Import speed and coverage: ``import_torch`` against ``torch.fx.symbolic_trace``.

The importer traces with torch.fx too, then maps, merges classes into composite blocks, validates
and moves the weights: the ratio says what that adds to a bare trace (target <= 5x); both are
timed interleaved. Default: the seed's U-Net (1x3x572x572) and the tests' small ResNet (1x3x64x64),
the first import (it loads torch's meta kernels, once) printed apart.

``--zoo``: every torchvision classification and segmentation model (random weights, eval mode),
each in a forked child with a time limit. A row: converted (no opaque node), outputs equal (live
model and generated code, strict weights, max abs error <= 1e-5 x max(1, |output|)), top-level
nodes, opaque nodes (first failures), import and fx times, warm validation (second call); then
totals, ResNet-50's figures, failures grouped by cause. Needs torchvision (issue 12: a separate
venv with torch 2.14.1 + torchvision 0.29.1, this project installed there with --no-deps).

Run: .venv/bin/python bench/bench_import.py [--repeat 15]
     /work/zoo-venv/bin/python bench/bench_import.py --zoo [--models a,b] [--skip c] [--timeout 180]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import multiprocessing
import re
import signal
import statistics
import sys
import time
import traceback
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from codegen_helpers import exec_source
from import_models import ResNet, UNet

import designer
import designer.core.fileformat
from designer.interop import importer
from designer.interop.importer import ImportFailed, import_torch

TARGET = 5.0
TOLERANCE = 1e-5


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def small(args) -> None:
    """The seed's U-Net and the tests' ResNet: import time against a bare fx trace."""
    cases = [
        ("seed U-Net 1x3x572x572", UNet(n_channels=3, n_classes=2), (1, 3, 572, 572)),
        ("ResNet (BasicBlock) 1x3x64x64", ResNet(), (1, 3, 64, 64)),
    ]
    ratios = []
    for i, (name, module, shape) in enumerate(cases):
        module, inputs = module.eval(), (torch.randn(shape),)
        if i == 0:
            cold = timed(lambda: import_torch(module, inputs))  # noqa: B023 - called at once
            print(f"first import in this process (loads torch's meta kernels): {cold * 1e3:.0f} ms")
            print(import_torch(module, inputs).report().splitlines()[0])
        got = time_both(module, inputs, args.repeat, float("inf"))
        ratios.append(got["import_ms"] / got["fx_ms"])
        verdict = "ok" if ratios[-1] <= TARGET else f"over the {TARGET:g}x target"
        print(
            f"{name}: import_torch {got['import_ms']:.1f} ms, fx.symbolic_trace "
            f"{got['fx_ms']:.1f} ms: {ratios[-1]:.2f}x ({verdict})"
        )
    print(f"worst ratio {max(ratios):.2f}x (target <= {TARGET:g}x)")


# ---------------------------------------------------------------- torchvision zoo


def zoo_names() -> list[tuple[str, str]]:
    """(model, kind) for every torchvision classification and segmentation model."""
    try:
        from torchvision import models
    except ImportError:
        sys.exit(
            "--zoo needs torchvision: make a separate venv with "
            "`pip install torch==2.14.1 torchvision==0.29.1`, install this project into it "
            "with --no-deps, and run the bench with that venv's python (see issue 12)"
        )
    kinds = [("classification", models), ("segmentation", models.segmentation)]
    return [(n, kind) for kind, mod in kinds for n in models.list_models(module=mod)]


def make_model(name: str, kind: str) -> torch.nn.Module:
    """The model with random weights (no download: backbones random too), in eval mode."""
    from torchvision import models

    extra = {"weights_backbone": None} if kind == "segmentation" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return models.get_model(name, weights=None, **extra).eval()


def as_tuple(out) -> tuple:
    if isinstance(out, dict):  # segmentation models return {"out": ..., "aux": ...}
        return tuple(out.values())
    return out if isinstance(out, (tuple, list)) else (out,)


def rel_error(got, want: tuple) -> float:
    """Max abs error over max(1, |output|), the worst output; inf when shapes or counts differ."""
    got = as_tuple(got)
    if [a.shape for a in got] != [b.shape for b in want]:
        return float("inf")
    pairs = zip(got, want, strict=True)
    return max(((a - b).abs().max() / b.abs().max().clamp(min=1)).item() for a, b in pairs)


def reopened(design):
    """The design as its saved file opens again (what a user gets back)."""
    return designer.loads(designer.core.fileformat.dumps(design))


def round_trip(result, inputs: tuple, want: tuple) -> tuple[float, float]:
    """Errors of the live model and of the generated code of the saved design opened again,
    both loading the weights strictly."""
    design = reopened(result.design)
    live = designer.build(design, device="cpu").eval()
    live.load_state_dict(result.state_dict, strict=True)
    with torch.no_grad():
        live_err = rel_error(live(*inputs), want)
    del live
    source = designer.generate_code(design, class_name="Imported")
    generated = exec_source(source)["Imported"]().eval()
    generated.load_state_dict(result.state_dict, strict=True)
    with torch.no_grad():
        return live_err, rel_error(generated(*inputs), want)


def time_both(model, inputs: tuple, repeat: int, budget: float) -> dict:
    """Median import and fx times, interleaved; fewer repeats once ``budget`` seconds pass."""
    ours, fx, result, fx_error = [], [], None, ""
    start = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = import_torch(model, inputs)  # ImportFailed propagates: nothing to time
        ours.append(time.perf_counter() - t0)
        if not fx_error:
            try:
                fx.append(timed(lambda: torch.fx.symbolic_trace(model)))
            except Exception as exc:  # some models are not symbolically traceable
                fx_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:120]
        if time.perf_counter() - start > budget:
            break
    return {
        "result": result,
        "import_ms": statistics.median(ours) * 1e3,
        "fx_ms": statistics.median(fx) * 1e3 if fx else None,
        "fx_error": fx_error,
    }


def measure(name: str, kind: str, args) -> dict:
    """One zoo row: import, round trip, timings, validation; failures with their reasons."""
    torch.manual_seed(0)
    model = make_model(name, kind)
    inputs = (torch.randn(args.batch, 3, args.size, args.size),)
    with torch.no_grad():
        want = as_tuple(model(*inputs))
    row = {"name": name, "kind": kind, "params": sum(p.numel() for p in model.parameters())}
    try:
        row.update(time_both(model, inputs, args.repeat, args.budget))
    except ImportFailed as exc:
        return {**row, "status": "FAIL", "issues": [(o.path, o.op, o.reason) for o in exc.opaque]}
    result = row.pop("result")
    row["status"] = "converted" if not result.opaque else "opaque"
    row["issues"] = [(o.path, o.op, o.reason) for o in result.opaque]
    row["nodes"] = len(result.design)
    designer.validate(result.design)
    row["validate_ms"] = timed(lambda: designer.validate(result.design)) * 1e3
    if name == "resnet50":  # the issue's figure: a few more warm runs for a steadier median
        warm = [timed(lambda: designer.validate(result.design)) for _ in range(10)]
        row["validate_median_ms"] = statistics.median(warm) * 1e3
    del model
    row["live_err"], row["gen_err"] = round_trip(result, inputs, want)
    return row


def _expire(*_) -> None:
    raise TimeoutError("no result within the time limit")


def child(name: str, kind: str, args, conn, measure_row=None) -> None:
    signal.signal(signal.SIGALRM, _expire)  # a hang reports where it is; the parent kills later
    signal.alarm(max(1, int(args.timeout) - 3))
    try:
        conn.send((measure_row or measure)(name, kind, args))
    except BaseException as exc:  # an importer bug or a hang: the message and the project's frame
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/designer/" in f.filename] or frames
        at = f"{Path(ours[-1].filename).name}:{ours[-1].lineno} {ours[-1].name}"
        status = "TIMEOUT" if isinstance(exc, TimeoutError) else "ERROR"
        text = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        conn.send({"name": name, "kind": kind, "status": status, "error": text, "at": at})
    finally:
        conn.close()


def run_limited(name: str, kind: str, args, measure_row=None) -> dict:
    """``measure`` (or ``measure_row``) in a forked child (torch and the meta kernels already
    loaded) with a time limit."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=child, args=(name, kind, args, send, measure_row))
    start = time.perf_counter()
    proc.start()
    send.close()
    row = None
    with contextlib.suppress(EOFError):
        row = recv.recv() if recv.poll(args.timeout) else None
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if row is None:
        status = "TIMEOUT" if time.perf_counter() - start >= args.timeout else "ERROR"
        row = {"name": name, "kind": kind, "status": status, "error": f"exit {proc.exitcode}"}
    row["seconds"] = time.perf_counter() - start
    return row


def equal(row: dict) -> bool:
    errs = [row.get("live_err"), row.get("gen_err")]
    return all(e is not None and e <= TOLERANCE for e in errs)


def cell_err(row: dict) -> str:
    if row.get("live_err") is None:
        return "-"
    worst = max(row["live_err"], row["gen_err"])
    return f"{'yes' if equal(row) else 'NO'} {worst:.0e}"


def cell_ms(value, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


HEADER = (
    f"{'model':<30} {'kind':<5} {'params':>7} {'status':<9} {'equal':<9} {'nodes':>5} "
    f"{'opaque':>6} {'import ms':>9} {'fx ms':>7} {'ratio':>6} {'valid ms':>8}"
)


def format_row(row: dict) -> str:
    params = f"{row['params'] / 1e6:.1f}M" if "params" in row else "-"
    ratio = "-"
    if row.get("fx_ms"):
        ratio = f"{row['import_ms'] / row['fx_ms']:.1f}x"
    elif row.get("fx_error"):
        ratio = "fx err"
    opaque = str(sum(causes_of(row).values())) if row.get("issues") else "0" * ("issues" in row)
    return (
        f"{row['name']:<30} {row['kind'][:5]:<5} {params:>7} {row['status']:<9} "
        f"{cell_err(row):<9} {row.get('nodes', '-')!s:>5} {opaque or '-':>6} "
        f"{cell_ms(row.get('import_ms')):>9} {cell_ms(row.get('fx_ms')):>7} {ratio:>6} "
        f"{cell_ms(row.get('validate_ms'), 1):>8}"
    )


SECONDARY = ("where a computed tensor is expected", "none of its inputs")


def cause(op: str, reason: str) -> str:
    """A failure's cause with sizes, indices and module paths taken out, so like ones group."""
    op = re.sub(r"^self\.(?:\S+\.)?(\w+)$", r"self.….\1", op)
    return re.sub(r"\d+", "#", f"{op}: {reason}")


def causes_of(row: dict) -> dict[str, int]:
    """A model's causes and their node counts: its first failures, not what follows from them (a
    layer fed by a failed op, a parent using a failed child's output)."""
    issues = row.get("issues", [])
    if row["status"] in ("ERROR", "TIMEOUT"):
        issues = [("", row.get("at") or row["status"], row["error"])]
    elif not issues and row.get("live_err") is not None and not equal(row):
        issues = [("", "round trip", "outputs differ beyond the tolerance")]
    first = [i for i in issues if not any(s in i[2] for s in SECONDARY)] or issues
    found: dict[str, int] = defaultdict(int)
    for _, op, reason in first:
        found[f"[{row['status']}] {cause(op, reason)}"] += 1
    return found


def report_causes(rows: list[dict]) -> None:
    """The first failures grouped by cause, most models first, then a greedy order of fixes."""
    per_model = {r["name"]: causes_of(r) for r in rows}
    per_model = {name: found for name, found in per_model.items() if found}
    models, nodes = defaultdict(set), defaultdict(int)
    for name, found in per_model.items():
        for key, count in found.items():
            models[key].add(name)
            nodes[key] += count
    print("\ncauses, first failures only (models hit, nodes):")
    for key in sorted(models, key=lambda k: (-len(models[k]), k)):
        names = ", ".join(sorted(models[key]))
        print(f"  {len(models[key]):>3} models {nodes[key]:>4} nodes  {key}\n        {names}")
    print("\nfix order, greedy (a fix may uncover failures that these hide):")
    left, cleared = {m: set(f) for m, f in per_model.items()}, 0
    while left:
        keys = {k for found in left.values() for k in found}
        gain = {k: sum(found <= {k} for found in left.values()) for k in keys}
        best = max(sorted(keys), key=lambda k: (gain[k], len(models[k])))
        cleared += gain[best]
        print(f"  +{gain[best]:<2} (cleared {cleared:>2})  {best}")
        left = {m: found - {best} for m, found in left.items() if found - {best}}


def report_details(rows: list[dict]) -> None:
    print("\nper model: first failures (nodes), then how many failures follow from them:")
    for row in (r for r in rows if causes_of(r) or r.get("fx_error")):
        found = causes_of(row)
        later = len(row.get("issues", [])) - sum(found.values())
        print(f"  {row['name']} [{row['status']}]" + (f", {later} following" if later > 0 else ""))
        for key, count in found.items():
            print(f"    {count:>3}x {key}")
        if row.get("fx_error"):
            print(f"    fx.symbolic_trace: {row['fx_error']}")


def report_totals(rows: list[dict]) -> None:
    run = [r for r in rows if r["status"] != "skipped"]
    ok = [r for r in run if r["status"] == "converted" and equal(r)]
    opaque_ok = [r for r in run if r["status"] == "opaque" and equal(r)]
    ratios = [r["import_ms"] / r["fx_ms"] for r in run if r.get("fx_ms")]
    total = len(rows)
    print(f"\nmodels: {total}, run {len(run)}, skipped {total - len(run)}")
    by = Counter(r["status"] for r in run)
    print("status: " + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))
    for label, part in (("of all models", total), ("of those run", len(run))):
        share = 100 * len(ok) / part if part else 0
        print(f"converted, outputs equal: {len(ok)}/{part} = {share:.1f}% {label} (want >= 95%)")
    print(f"imported with opaque blocks and equal outputs: {len(opaque_ok)}")
    if ratios:
        over = sum(x > TARGET for x in ratios)
        print(
            f"import/fx ratio: median {statistics.median(ratios):.1f}x, worst {max(ratios):.1f}x, "
            f"{over} of {len(ratios)} over the {TARGET:g}x target"
        )
    for r in rows:
        if r["name"] == "resnet50" and "nodes" in r:
            print(
                f"ResNet-50: {r['nodes']} top-level nodes (want <= 30), warm validate "
                f"{r['validate_ms']:.1f} ms (second call), median of 10 more "
                f"{r['validate_median_ms']:.1f} ms (want <= 10 ms)"
            )


def zoo(args) -> None:
    names = zoo_names()
    if args.models:
        wanted = set(args.models.split(","))
        names = [(n, k) for n, k in names if n in wanted]
    shape = f"{args.batch}x3x{args.size}x{args.size}"
    sources = sorted(Path(importer.__file__).parent.glob("*.py"))
    stamp = hashlib.sha1(b"".join(p.read_bytes() for p in sources)).hexdigest()[:10]
    print(f"importer sources {stamp} ({len(sources)} files), {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"torch {torch.__version__}, 1 thread, input {shape}, timeout {args.timeout:g} s a model")
    warm = timed(lambda: import_torch(ResNet().eval(), torch.randn(1, 3, 64, 64)))
    print(f"warm-up import in the parent (meta kernels, forked children share them): {warm:.1f} s")
    print(HEADER)
    rows = []
    for name, kind in names:
        if name in args.skip.split(","):
            row = {"name": name, "kind": kind, "status": "skipped"}
            print(f"{name:<30} {kind[:5]:<5} skipped (--skip)", flush=True)
        else:
            row = run_limited(name, kind, args)
            print(format_row(row) + f"  ({row['seconds']:.0f} s)", flush=True)
        rows.append(row)
    report_totals(rows)
    report_causes(rows)
    report_details(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=None, help="timing runs (15; zoo 3)")
    parser.add_argument("--zoo", action="store_true", help="every torchvision model")
    parser.add_argument("--models", default="", help="zoo: only these, comma-separated")
    parser.add_argument("--skip", default="", help="zoo: leave these out, comma-separated")
    parser.add_argument("--timeout", type=float, default=180.0, help="zoo: seconds a model")
    parser.add_argument("--budget", type=float, default=20.0, help="zoo: timing seconds a model")
    parser.add_argument("--batch", type=int, default=1, help="zoo: input batch")
    parser.add_argument("--size", type=int, default=224, help="zoo: input height and width")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.zoo:
        args.repeat = args.repeat or 3
        zoo(args)
    else:
        args.repeat = args.repeat or 15
        small(args)


if __name__ == "__main__":
    main()
