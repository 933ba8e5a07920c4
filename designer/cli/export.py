"""``designer export FILE -o model.onnx``: export to ONNX, checked against onnxruntime."""

from __future__ import annotations

import argparse
import math
import os
import sys
import traceback

from designer.cli.common import (
    add_input_shape,
    check_output,
    input_overrides,
    print_issues,
)
from designer.cli.usage import interruption
from designer.core.fileformat import load
from designer.interop.dynamic_axes import AXIS_NAMES as AXES


def _axes(text: str) -> tuple[str, ...]:
    """``batch,height,width`` -> a tuple of known axis names."""
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [n for n in names if n not in AXES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"{text!r}: name axes from {', '.join(AXES)}, separated by commas"
        )
    return names


def _tolerance(text: str) -> float:
    """A positive, finite relative error limit."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number such as 1e-4")
    return value


def _opset(text: str) -> int:
    """An opset the exporter writes: 18 up to the newest the installed onnx knows."""
    import onnx

    from designer.interop.export import MIN_OPSET

    newest = onnx.defs.onnx_opset_version()
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not MIN_OPSET <= value <= newest:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the exporter writes opsets {MIN_OPSET} to {newest}"
        )
    return value


def _size(count: int) -> str:
    """Bytes as a short human figure."""
    if count < 1024:
        return f"{count} bytes"
    return f"{count / 1024:.1f} KiB" if count < 2**20 else f"{count / 2**20:.1f} MiB"


def add_parser(sub):
    p = sub.add_parser(
        "export",
        help="export a design to ONNX and check it against onnxruntime",
        description=(
            "Export a design to ONNX with torch's exporter, check the file with onnx.checker and "
            "compare onnxruntime with PyTorch on random input. Exit 0 written, 1 invalid design, "
            "weights that do not fit or outputs that disagree (nothing written), 2 unreadable "
            "input or unwritable output."
        ),
    )
    p.add_argument("file", help="design file (.json)")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.onnx", help="file to write")
    p.add_argument("--opset", type=_opset, metavar="N", help="ONNX opset, 18 or newer")
    add_input_shape(p)
    p.add_argument(
        "--dynamic",
        type=_axes,
        default=(),
        metavar="AXES",
        help="axes left free in the graph, e.g. batch,height,width (also depth, length)",
    )
    p.add_argument(
        "--weights",
        metavar="FILE",
        help="trained weights to load strictly first (.pt/.pth state dict or .safetensors)",
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="skip onnx.checker and the onnxruntime comparison",
    )
    p.add_argument(
        "--tolerance",
        type=_tolerance,
        default=1e-4,
        metavar="REL",
        help="largest relative error accepted against torch (default 1e-4, fp32)",
    )
    return p


def run(args) -> int:
    from designer.interop.export import ExportError, export_onnx

    check_output(args.output, args.file, args.weights)
    design = load(args.file)
    shapes = input_overrides(design, args.input_shape)
    try:
        result = export_onnx(
            design,
            args.output,
            input_shapes=shapes,
            opset=args.opset,
            dynamic=args.dynamic,
            weights=args.weights,
            verify=not args.no_verify,
            tolerance=args.tolerance,
        )
    except ExportError as exc:
        stop = interruption(exc)  # torch's exporter wraps a Ctrl+C in its own errors
        if stop is not None:
            raise stop from None
        if exc.report is not None:
            print_issues(exc.report, args.file)
            return exc.status
        for parity in exc.parity:
            print(parity.line())
        if os.environ.get("DESIGNER_DEBUG") and exc.__cause__ is not None:
            traceback.print_exception(exc.__cause__)
        print(f"error: {exc}", file=sys.stderr)
        return exc.status
    if result.weights:
        print(f"loaded {result.weights} tensors from {args.weights}")
    print(
        f"wrote {result.path} ({_size(result.size)}, opset {result.opset}, "
        f"{result.summary()}) in {result.seconds:.1f} s"
    )
    if result.checked:
        print("onnx.checker (full check): passed")
    for parity in result.parity:
        print(parity.line())
    return 0
