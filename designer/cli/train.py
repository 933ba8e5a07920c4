"""``designer train DESIGN --data DIR``: train the design's live model, a progress bar per epoch.

Exit 0 trained; 1 an invalid design (its issues are printed), a design that does not fit the data,
weights that do not fit, or a run that cannot go on; 2 a command line, data or weights file that
cannot be used; 130 Ctrl+C (the current step finishes and ``last.*`` are saved first).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from designer.cli.common import print_issues
from designer.cli.usage import UsageError
from designer.train.recipe.options import add_arguments

BAR = 30  # characters of the progress bar


def add_parser(sub):
    p = sub.add_parser(
        "train",
        help="train the design on a data folder",
        description="Train the design's model (the loop of `designer codegen --train-script`). "
        "Writes metrics.jsonl, last.safetensors, best.safetensors and last.state.pt into --out. "
        "Exit 0 trained, 1 a design that does not fit the data or a run that cannot go on, "
        "2 an unusable command line, data or weights file, 130 interrupted (saved; --resume).",
    )
    p.add_argument("file", help="design file (.json)")
    add_arguments(p, out_default="runs/DESIGN")
    return p


class Progress:
    """A bar per epoch on a terminal (stderr), a line per epoch on stdout."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()

    def __call__(self, kind: str, info: dict) -> None:
        from designer.train.recipe.loop import epoch_line, start_line

        if kind == "start":
            print(start_line(info), flush=True)
        elif kind == "step" and self.tty:
            done = BAR * info["batch"] // info["batches"]
            bar = "#" * done + "." * (BAR - done)
            text = f"\repoch {info['epoch']} [{bar}] {info['batch']}/{info['batches']}"
            self.stream.write(f"{text}  loss {info['loss']:.4f}")
            self.stream.flush()
        elif kind == "epoch":
            if self.tty:
                self.stream.write("\r\033[K")
            print(epoch_line(info), flush=True)


def _options(args):
    from designer.train.recipe.options import Options

    options = Options.from_args(args)
    if options.out == "runs/DESIGN":
        options.out = os.path.join("runs", Path(args.file).stem)
    if options.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: CUDA is not available on this machine; use cpu")
    if os.path.exists(options.out) and not os.path.isdir(options.out):
        raise UsageError(f"--out {options.out!r} is a file; give a folder")
    return options


def run(args) -> int:
    from designer.core.fileformat import load
    from designer.train.recipe.data import DataError
    from designer.train.recipe.loop import TrainError, sigint_stops
    from designer.train.session import SetupError, fit, prepare

    options = _options(args)
    design = load(args.file)
    try:
        prepared = prepare(design, options)
        with sigint_stops() as should_stop:
            result = fit(prepared, Progress(), should_stop)
    except SetupError as exc:
        if exc.report is not None:
            print_issues(exc.report, args.file)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return exc.status
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (TrainError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if result.stopped:
        print(f"interrupted: saved {options.out}; continue with --resume", file=sys.stderr)
        return 130
    return _summary(result)


def _summary(result) -> int:
    if result.history:
        last = result.history[-1]
        metric = next(k for k in ("val_miou", "val_accuracy", "val_mse") if k in last)
        best = (min if metric == "val_mse" else max)(row[metric] for row in result.history)
        print(f"wrote {result.out}/best.safetensors ({metric} {best:.4f}) and last.safetensors")
    return 0
