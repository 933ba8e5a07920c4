"""ONNX import speed: ``import_onnx`` against ``onnx.load`` + onnxruntime session creation.

Both read the same file and end with something ready to use: the importer parses the protobuf,
converts the graph through the converter registry, cuts it into composite blocks along the
module scopes, validates the design and moves the initializers to the live model's keys
(building the design once on the meta device); onnxruntime parses the file and builds an
optimised session. Timed interleaved in one run on examples/unet.json as ``designer export``
writes it (1x3x572x572, 31M parameters) and on the tests' seed U-Net exported by torch's dynamo
exporter (base 16, 1x3x256x256). The first import in a process also imports and warms torch's
meta kernels; it is printed apart and left out of the medians.

``--zoo``: every torchvision classification and segmentation model (random weights, eval mode,
1x3x224x224), exported by torch.onnx.export (dynamo, torch's default opset, as ``designer export``)
and imported, each in a forked child with a time limit. A row: converted / opaque / failed,
outputs equal (the imported design's live model, weights loaded strictly, against onnxruntime on
the same input: max abs error <= 1e-5 x max(1, |output|)), top-level nodes, import time against
onnx.load + session; then totals and the failures grouped by cause (bench_import's reports).

Run: .venv/bin/python bench/bench_import_onnx.py [--repeat 7]
     /work/zoo-venv/bin/python bench/bench_import_onnx.py --zoo [--models a,b] [--timeout 240]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import onnx
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_import import (
    HEADER,
    equal,
    format_row,
    make_model,
    rel_error,
    reopened,
    report_causes,
    report_details,
    run_limited,
    zoo_names,
)
from import_models import UNet, randomized

import designer
from designer.interop.exporter import quiet_exporter
from designer.interop.importer import ImportFailed
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


# ---------------------------------------------------------------- torchvision zoo


def export_zoo(model, inputs: tuple, path: Path) -> None:
    """torch.onnx.export as torch defaults (dynamo), at torch's default opset (the project's)."""
    with quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(model, inputs, dynamo=True, verbose=False)
    program.save(str(path))


def runtime_outputs(path: Path, inputs: tuple) -> tuple:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs, strict=True)}
    return tuple(torch.from_numpy(a) for a in session.run(None, feed))


def live_error(result, inputs: tuple, want: tuple) -> float:
    """The error of the saved design opened again, built live with the weights loaded strictly."""
    live = designer.build(reopened(result.design), device="cpu").eval()
    live.load_state_dict(result.state_dict, strict=True)
    with torch.no_grad():
        return rel_error(live(*inputs), want)


def measure_onnx(name: str, kind: str, args) -> dict:
    """One zoo row: export, import, outputs against onnxruntime, timings; failures with reasons."""
    torch.manual_seed(0)
    model = make_model(name, kind)
    inputs = (torch.randn(1, 3, args.size, args.size),)
    row = {"name": name, "kind": kind, "params": sum(p.numel() for p in model.parameters())}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.onnx"
        start = time.perf_counter()
        export_zoo(model, inputs, path)
        row["export_s"] = time.perf_counter() - start
        del model
        row["fx_ms"] = timed(lambda: runtime_ready(path)) * 1e3  # the "fx" column: load + session
        want = runtime_outputs(path, inputs)
        try:
            start = time.perf_counter()
            result = import_onnx(path)
            row["import_ms"] = (time.perf_counter() - start) * 1e3
        except ImportFailed as exc:  # no import time: the ratio column stays empty
            row["ort_ms"] = row.pop("fx_ms")
            return {
                **row,
                "status": "FAIL",
                "issues": [(o.path, o.op, o.reason) for o in exc.opaque],
            }
    row["status"] = "converted" if not result.opaque else "opaque"
    row["issues"] = [(o.path, o.op, o.reason) for o in result.opaque]
    row["nodes"] = len(result.design)
    row["validate_ms"] = timed(lambda: designer.validate(result.design)) * 1e3
    row["live_err"] = live_error(result, inputs, want)
    row["gen_err"] = row["live_err"]  # the bench_import reports read both; no generated code here
    return row


def zoo_limited(name: str, kind: str, args) -> dict:
    """``measure_onnx`` in a forked child with a time limit."""
    return run_limited(name, kind, args, measure_onnx)


ZOO_HEADER = HEADER.replace("fx ms", "ort ms")


def zoo(args) -> None:
    names = zoo_names()
    if args.models:
        wanted = args.models.split(",")
        names = [(n, k) for n, k in names if n in wanted]
    sources = sorted((ROOT / "designer" / "interop" / "onnx_import").glob("*.py"))
    stamp = hashlib.sha1(b"".join(p.read_bytes() for p in sources)).hexdigest()[:10]
    print(f"onnx_import sources {stamp} ({len(sources)} files), {time.strftime('%Y-%m-%d %H:%M')}")
    print(
        f"torch {torch.__version__}, onnxruntime {ort.__version__}, 1 thread, input "
        f"1x3x{args.size}x{args.size}, timeout {args.timeout:g} s a model; 'ort ms' is onnx.load "
        "+ session, 'ratio' import / that; 'equal' compares the live model with onnxruntime"
    )
    print(ZOO_HEADER)
    rows = []
    for name, kind in names:
        row = zoo_limited(name, kind, args)
        print(
            format_row(row) + f"  (export {row.get('export_s', 0):.0f} s, {row['seconds']:.0f} s)",
            flush=True,
        )
        rows.append(row)
    zoo_totals(rows)
    report_causes(rows)
    report_details(rows)


def zoo_totals(rows: list[dict]) -> None:
    ok = [r for r in rows if r["status"] == "converted" and equal(r)]
    share = 100 * len(ok) / len(rows) if rows else 0
    print(
        f"\nmodels: {len(rows)}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["status"] for r in rows).items()))
    )
    print(f"converted, outputs equal: {len(ok)}/{len(rows)} = {share:.1f}%")
    print(f"opaque with equal outputs: {sum(r['status'] == 'opaque' and equal(r) for r in rows)}")
    ratios = [r["import_ms"] / r["fx_ms"] for r in rows if r.get("import_ms") and r.get("fx_ms")]
    if ratios:
        print(
            f"import / (onnx.load + session): median {statistics.median(ratios):.2f}x, "
            f"worst {max(ratios):.2f}x over {len(ratios)} imported models"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--zoo", action="store_true", help="every torchvision model")
    parser.add_argument("--models", default="", help="zoo: only these, comma-separated")
    parser.add_argument("--timeout", type=float, default=240.0, help="zoo: seconds a model")
    parser.add_argument("--size", type=int, default=224, help="zoo: input height and width")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.zoo:
        zoo(args)
        return
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
