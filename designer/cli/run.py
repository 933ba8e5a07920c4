"""``designer run FILE``: a forward pass on random input, per-node shapes and times, benchmark."""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from contextlib import nullcontext

from designer.cli.common import add_input_shape, input_overrides, print_issues, table
from designer.core.fileformat import load
from designer.core.shapes import format_shape
from designer.core.validate import validate

DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def _device(text: str) -> str:
    if not DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r}: use auto, cpu, cuda or cuda:N")
    return text


def _count(least: int) -> type:
    """An argparse type: an integer of at least ``least``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of {least} or more")
        return value

    return parse


def add_parser(sub):
    p = sub.add_parser(
        "run",
        help="run the design on random input: shapes, time per node, memory, latency",
        description="Build the live model and run it on random input. Exit 0 ran, 1 invalid "
        "design or too large for the device's free memory, 2 a usage error, an unreadable file "
        "or an unavailable device.",
    )
    p.add_argument("file", help="design file (.json)")
    p.add_argument(
        "--device", type=_device, default="auto", help="auto (CUDA if available), cpu or cuda[:N]"
    )
    add_input_shape(p)
    p.add_argument("--batch", type=_count(1), help="batch size (replaces the first dimension)")
    p.add_argument("--bench", type=_count(0), default=10, metavar="N", help="timed repetitions")
    p.add_argument("--amp", action="store_true", help="automatic mixed precision")
    p.add_argument("--channels-last", action="store_true", help="channels-last memory format")
    p.add_argument("--compile", action="store_true", help="torch.compile the model first")
    return p


def _shapes(design, args) -> dict:
    """Input shapes, batch included, from --input-shape and --batch over the Input nodes."""
    overrides = input_overrides(design, args.input_shape)
    shapes = {}
    for node in design.nodes_of_type("Input"):
        sample = overrides.get(node)
        if sample is None:
            sample = (1, *design.node(node)["params"].get("shape", (3, 224, 224)))
        if args.batch is not None:
            sample = (args.batch, *sample[1:])
        shapes[node] = tuple(sample)
    return shapes


def run(args) -> int:
    design = load(args.file)
    shapes = _shapes(design, args)  # an --input-shape naming no Input: UsageError, status 2
    report = validate(design, shapes)
    if not report.ok:
        print_issues(report, args.file)
        return 1
    import torch

    from designer.live.model import resolve_device
    from designer.run.runner import run_problem

    try:
        device = resolve_device(args.device)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = run_problem(design, report, device, amp=args.amp)
    if problem:
        print(
            f"{args.file}: refusing to run: {problem}; use a smaller --input-shape or --batch",
            file=sys.stderr,
        )
        return 1
    try:
        return _run(args, design, report, shapes, device)
    except torch.cuda.OutOfMemoryError:
        print(f"error: out of memory on {device}; lower --batch or --input-shape", file=sys.stderr)
        return 1


def _run(args, design, report, shapes, device) -> int:
    """Build, profile per node, benchmark, print."""
    import torch

    from designer.live.model import build
    from designer.run.runner import benchmark, human_bytes, peak_memory, profile_nodes, synchronizer

    model = build(design, device, shapes).eval()
    batch = next(iter(shapes.values()))[0]
    inputs = model.example_inputs(batch)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        inputs = tuple(
            x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x for x in inputs
        )
    forward = torch.compile(model) if args.compile else model
    sync = synchronizer(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    autocast = torch.autocast(device.type, dtype=amp_dtype) if args.amp else nullcontext()
    with torch.inference_mode(), autocast:
        rows = profile_nodes(model, inputs, sync, repeats=min(3, max(1, args.bench)))
        times = benchmark(lambda: forward(*inputs), sync, max(1, args.bench))
    _print_nodes(design, rows)
    latency = statistics.median(times)
    what, peak = peak_memory(device)
    mode = ", ".join(
        m for m, on in (("amp", args.amp), ("channels-last", args.channels_last),
                        ("compiled", args.compile)) if on
    )  # fmt: skip
    print(
        f"{args.file} on {device}{f' ({mode})' if mode else ''}: {report.total_params:,} "
        f"parameters; latency median {latency * 1e3:.2f} ms (min {min(times) * 1e3:.2f} ms, "
        f"{len(times)} runs); throughput {batch / latency:,.1f} samples/s; "
        f"{what} {human_bytes(peak)}"
    )
    return 0


def _print_nodes(design, rows: dict) -> None:
    total = sum(seconds for seconds, _ in rows.values()) or 1.0
    lines = [("node", "block", "output shape", "time", "share")]
    for node, (seconds, shape) in rows.items():
        if node not in design:
            continue
        lines.append(
            (
                node,
                design.node(node)["type"],
                _shape_text(shape),
                f"{seconds * 1e3:.2f} ms",
                f"{100 * seconds / total:.1f}%",
            )
        )
    print(table(lines, right=(3, 4)))


def _shape_text(shape) -> str:
    """``1×64×572×572``; several outputs joined by commas; ``?`` when unknown."""
    if shape is None:
        return "?"
    if shape and isinstance(shape[0], tuple):
        return ", ".join(_shape_text(s) for s in shape)
    return format_shape(shape)
