"""Helpers shared by subcommands: parsing shapes, loading with input overrides, printing tables."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence

from designer.cli.usage import UsageError
from designer.core.fileformat import DesignFileError, load
from designer.core.graph import Design
from designer.core.validate import Report, validate


def parse_shape(text: str) -> tuple[int, ...]:
    """``1,3,572,572`` (or ``1x3x572x572``) -> a shape tuple."""
    parts = re.split(r"[,x×]", text.strip())
    if not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape like 1,3,572,572")
    shape = tuple(int(p) for p in parts)
    if not shape or any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be a positive integer")
    return shape


def shape_spec(text: str) -> str:
    """``[NAME=]N,C,H,W``, checked when the command line is parsed; names are matched later."""
    parse_shape(text.rpartition("=")[2])
    return text


def add_input_shape(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--input-shape",
        type=shape_spec,
        metavar="[NAME=]N,C,H,W",
        action="append",
        default=[],
        help="full input shape, batch included (repeat as NAME=... for several inputs)",
    )


def input_overrides(design: Design, specs: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Map ``--input-shape`` values to Input node ids; raises :class:`UsageError`."""
    inputs = design.nodes_of_type("Input")
    overrides = {}
    for spec in specs:
        name, _, shape = spec.rpartition("=")
        if not name:
            if len(inputs) != 1:
                raise UsageError(
                    f"the design has {len(inputs)} inputs "
                    f"({', '.join(inputs)}); write --input-shape NAME=N,C,H,W"
                )
            name = inputs[0]
        if name not in inputs:
            raise UsageError(f"no Input named {name!r}; inputs: {', '.join(inputs)}")
        try:
            overrides[name] = parse_shape(shape)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"--input-shape {exc}") from None
    return overrides


def check_output(output: str | None, *inputs: str | None) -> None:
    """Refuse, before any work, an ``-o`` that is a folder, in a missing folder, or an input."""
    if not output:
        return
    from designer.core.atomicfile import target_status  # only commands that write need it

    try:
        target_status(output)
    except DesignFileError as exc:
        raise UsageError(f"-o {output!r}: {exc.problem}") from None
    if os.path.isdir(output) or output.endswith(os.sep):
        raise UsageError(f"-o {output!r} is a folder; give a file name")
    folder = os.path.dirname(output) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"-o {output!r}: folder {folder!r} does not exist; create it first")
    for given in inputs:
        if given and same_file(given, output):
            raise UsageError(f"-o {output!r} is the input file {given!r}; write to another file")


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (through links when both exist)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
        return os.path.realpath(a) == os.path.realpath(b)
    except (OSError, ValueError):
        return False


def load_and_validate(path: str, shapes: Sequence[str]) -> tuple[Design, Report, dict]:
    design = load(path)
    overrides = input_overrides(design, shapes)
    return design, validate(design, overrides), overrides


def print_issues(report: Report, path: str) -> None:
    errors, warnings = report.errors, [i for i in report.issues if i.severity != "error"]
    for issue in errors:
        print(f"  error: {issue}")
    for issue in warnings:
        print(f"  warning: {issue}")
    if errors:
        print(f"{path}: {len(errors)} error{'s' * (len(errors) != 1)}; nothing was done")


def table(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A plain text table; columns in ``right`` are right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
