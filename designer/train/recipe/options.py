"""The training options and their command-line flags (the same for ``designer train`` and the
generated script)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

OPTIMIZERS = ("adamw", "sgd")
LOSSES = ("auto", "ce", "dice_ce", "mse")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class Options:
    """Everything a run depends on; the defaults are those of the command line."""

    data: str = ""
    out: str = "runs/train"
    epochs: int = 30
    batch: int = 16
    lr: float = 1e-3
    optimizer: str = "adamw"
    loss: str = "auto"
    device: str = "auto"
    amp: bool = False
    weights: str | None = None
    resume: bool = False
    seed: int = 0
    val_fraction: float = 0.2
    workers: int = 0
    fsdp: bool = False
    augment: bool = False
    clip: float = 1.0
    weight_decay: float = 1e-4

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in vars(args).items() if k in names})


def _number(kind, low: float, low_open: bool = False, high: float | None = None):
    """An argparse type: a number of ``kind`` at least ``low`` (above it when ``low_open``)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        bad = value <= low if low_open else value < low
        if bad or (high is not None and value >= high) or value != value:
            above = "above" if low_open else "at least"
            top = f" and below {high:g}" if high is not None else ""
            raise argparse.ArgumentTypeError(f"{text!r}: give a value {above} {low:g}{top}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser, out_default: str = "runs/train") -> None:
    """The training flags (``--data`` included) on ``parser``."""
    d = Options()
    a = parser.add_argument
    a("--data", required=True, metavar="DIR", help="data folder or tensor file")
    a("--epochs", type=_number(int, 1), default=d.epochs, help=f"epochs (default {d.epochs})")
    a("--batch", type=_number(int, 1), default=d.batch, help="global batch (default 16)")
    a("--lr", type=_number(float, 0, True), default=d.lr, help=f"peak learning rate ({d.lr:g})")
    a("--optimizer", choices=OPTIMIZERS, default=d.optimizer, help="adamw or sgd (momentum 0.9)")
    a("--loss", choices=LOSSES, default=d.loss, help="auto follows the task (default)")
    a("--device", choices=DEVICES, default=d.device, help="auto: CUDA when available")
    a("--amp", action="store_true", help="mixed precision (fp16 on CUDA, bf16 on the CPU)")
    a("--weights", metavar="FILE", help="start from these weights (.safetensors or .pt)")
    a("--out", metavar="RUN_DIR", default=out_default, help=f"run folder ({out_default})")
    a("--resume", action="store_true", help="continue the run in --out where it stopped")
    a("--seed", type=_number(int, 0), default=d.seed, help="seed of weights and data order")
    a(
        "--val-fraction",
        type=_number(float, 0, True, 1),
        default=d.val_fraction,
        help="share of the samples held out for validation (0.2)",
    )
    a("--workers", type=_number(int, 0), default=d.workers, help="data loading processes (0)")
    a("--fsdp", action="store_true", help="shard the model with FSDP2 under torchrun")
    a("--augment", action="store_true", help="random flips and quarter turns of images and masks")
