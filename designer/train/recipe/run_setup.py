"""A run's set-up: its split and batches, its start (fresh weights, a file or the saved state) and
its saving; :class:`Run` (in :mod:`.run`) adds the training steps."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from designer.core.atomicfile import atomic_write  # recipe-local
from designer.train.recipe.augment import augment  # recipe-local
from designer.train.recipe.checkpoint import (  # recipe-local
    load_state,
    save_safetensors,
    save_state,
)
from designer.train.recipe.data import check_targets, split  # recipe-local
from designer.train.recipe.dist import (  # recipe-local
    Context,
    load_optimizer_state,
    model_state,
    optimizer_state,
    wrap,
)
from designer.train.recipe.interrupt import ignore_sigint  # recipe-local
from designer.train.recipe.objective import METRIC, loss_name, make_loss  # recipe-local
from designer.train.recipe.options import Options  # recipe-local
from designer.train.recipe.weights import init_weights, read_weights  # recipe-local

STATE = "last.state.pt"
RESUME_KEYS = ("seed", "batch", "val_fraction", "optimizer", "fsdp")  # must match to resume


class TrainError(Exception):
    """A run that cannot start or go on; the message says why and what to do."""


class _Flagged(torch.utils.data.Dataset):
    """The samples with a flag: index -1 pads a rank's share (its results are dropped).
    With ``epoch`` and ``seed`` given, training samples are augmented."""

    def __init__(self, samples, seed: int | None = None, epoch: int = 0) -> None:
        self.samples, self.seed, self.epoch = samples, seed, epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        x, y = self.samples[max(index, 0)]
        if self.seed is not None:
            x, y = augment(x, y, self.seed, self.epoch, index)
        return x, y, index >= 0


def output_problem(shape: tuple, target: torch.Tensor, spec) -> str | None:
    """Why a model output of ``shape`` (one sample) cannot be scored against ``target``."""
    if spec.task == "segmentation":
        want = (spec.num_classes, *target.shape)
        if len(shape) != 3 or tuple(shape) != want:
            return f"a map of {spec.num_classes} classes at {'x'.join(map(str, target.shape))}"
    elif spec.task == "classification":
        if tuple(shape) != (spec.num_classes,):
            return f"{spec.num_classes} class scores"
    elif math.prod(shape) != target.numel():
        return f"{target.numel()} value(s)"
    return None


class RunSetup:
    """A run's data, start and saving (see the module's docstring); :class:`Run` trains."""

    def __init__(self, model: nn.Module, samples, opts: Options, ctx: Context, report) -> None:
        self.model, self.samples, self.opts, self.ctx = model, samples, opts, ctx
        self.report = report if ctx.main and report else (lambda kind, info: None)
        self.out = Path(opts.out)
        spec = samples.spec
        self.metric = METRIC[spec.task]
        self.loss_fn = make_loss(loss_name(spec.task, opts.loss))
        self.train_idx, self.val_idx = (
            list(s) for s in split(len(samples), opts.val_fraction, opts.seed)
        )
        if not self.train_idx or not self.val_idx:
            role = "train" if not self.train_idx else "validate"
            raise TrainError(
                f"{len(samples)} samples leave none to {role} on; add samples or change "
                "--val-fraction"
            )
        if opts.batch % ctx.world:
            raise TrainError(f"--batch {opts.batch} does not split over {ctx.world} processes")
        self.per_rank = opts.batch // ctx.world
        self.batches = len(self.epoch_batches(0))
        self.total = opts.epochs * self.batches
        self.history: list[dict] = []
        self.best: float | None = None
        self.epoch = self.done = self.step = 0  # next epoch, its batches done, steps done
        self.loss_sum = self.loss_count = 0.0

    # -- data ----------------------------------------------------------------------------------

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches of an epoch: a seeded DistributedSampler's order, cut in batches
        (together the ranks' batches k make the global batch k of one process)."""
        sampler = DistributedSampler(
            self.train_idx, self.ctx.world, self.ctx.rank, shuffle=True, seed=self.opts.seed
        )
        sampler.set_epoch(epoch)
        mine = [self.train_idx[i] for i in sampler]
        size = self.per_rank
        usable = len(mine) - len(mine) % size if len(mine) >= size else len(mine)
        return [mine[i : i + size] for i in range(0, usable, size)]

    def val_batches(self) -> list[list[int]]:
        padded = self.val_idx + [-1] * (-len(self.val_idx) % self.ctx.world)
        mine = padded[self.ctx.rank :: self.ctx.world]
        return [mine[i : i + self.per_rank] for i in range(0, len(mine), self.per_rank)]

    def loader(self, batches: list[list[int]], epoch: int | None = None) -> DataLoader:
        """Batches of samples; those of a training ``epoch`` augmented with ``--augment``."""
        seed = self.opts.seed if self.opts.augment and epoch is not None else None
        return DataLoader(
            _Flagged(self.samples, seed, epoch or 0),
            batch_sampler=batches,
            num_workers=self.opts.workers,
            pin_memory=self.ctx.device.type == "cuda",
            generator=torch.Generator().manual_seed(self.opts.seed),
            worker_init_fn=ignore_sigint if self.opts.workers else None,
        )

    def autocast(self):
        cuda = self.ctx.device.type == "cuda"
        dtype = torch.float16 if cuda else torch.bfloat16
        return torch.autocast(self.ctx.device.type, dtype=dtype, enabled=self.opts.amp)

    # -- set up --------------------------------------------------------------------------------

    def check_output(self) -> None:
        """Refuse a model whose output does not fit the data, before any training."""
        x, y = self.samples[self.val_idx[0]]
        self.model.eval()
        with torch.no_grad():
            out = self.model(x[None])
        self.model.train()
        problem = output_problem(tuple(out.shape[1:]), y, self.samples.spec)
        if problem:
            shape = "x".join(map(str, out.shape[1:]))
            raise TrainError(
                f"the model gives {shape} per sample, but the data in {self.opts.data} needs "
                f"{problem}; change the model's last layer"
            )
        if self.samples.spec.task != "regression":
            check_targets(self.samples, out.shape[1])

    def prepare(self) -> None:
        """Seed, start the weights (fresh, from a file or from the saved state), wrap the model."""
        opts = self.opts
        random.seed(opts.seed)
        torch.manual_seed(opts.seed)
        state = self.saved_state() if opts.resume else None
        self.model.to("cpu")  # weights start on the CPU, whatever the device: the same numbers
        if state is not None:
            self.model.load_state_dict(state["model"])
        else:
            init_weights(self.model, opts.seed)
            if opts.weights:
                self.load_weights(opts.weights)
        self.check_output()
        self.model.to(self.ctx.device)
        self.net = wrap(self.model, self.ctx)
        self.optimizer = self.make_optimizer()
        cuda_amp = opts.amp and self.ctx.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=cuda_amp)
        if state is not None:
            self.restore(state)

    def load_weights(self, path: str) -> None:
        try:
            self.model.load_state_dict(read_weights(path), strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            raise TrainError(
                f"weights {path} do not fit the model: {' '.join(first[1:3])}"
            ) from None

    def make_optimizer(self) -> torch.optim.Optimizer:
        params, opts = self.net.parameters(), self.opts
        if opts.optimizer == "sgd":
            return torch.optim.SGD(params, lr=opts.lr, momentum=0.9, weight_decay=opts.weight_decay)
        return torch.optim.AdamW(params, lr=opts.lr, weight_decay=opts.weight_decay)

    def saved_state(self) -> dict:
        path = self.out / STATE
        if not path.is_file():
            raise TrainError(
                f"nothing to resume in {self.out} (no {STATE}); start without --resume"
            )
        state = load_state(path)
        for key in RESUME_KEYS:
            if state["run"].get(key) != getattr(self.opts, key):
                raise TrainError(
                    f"the run in {self.out} used --{key.replace('_', '-')} "
                    f"{state['run'].get(key)}; resume with the same value"
                )
        return state

    def restore(self, state: dict) -> None:
        load_optimizer_state(self.net, self.optimizer, state["optimizer"], self.ctx)
        if state["scaler"]:  # empty when saved without CUDA AMP
            self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.done, self.step = state["epoch"], state["batch"], state["step"]
        self.loss_sum, self.loss_count = state["loss_sum"], state["loss_count"]
        self.history, self.best = list(state["history"]), state["best"]
        random.setstate(state["rng"]["python"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    # -- saving --------------------------------------------------------------------------------

    def state(self, weights: dict) -> dict:
        run = {key: getattr(self.opts, key) for key in RESUME_KEYS}
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
        return {
            "epoch": self.epoch,
            "batch": self.done,
            "step": self.step,
            "loss_sum": self.loss_sum,
            "loss_count": self.loss_count,
            "model": weights,
            "optimizer": optimizer_state(self.net, self.optimizer, self.ctx),
            "scaler": self.scaler.state_dict(),
            "rng": {"python": random.getstate(), "torch": torch.get_rng_state(), "cuda": cuda},
            "history": self.history,
            "best": self.best,
            "run": run,
        }

    def save(self, improved: bool = False) -> None:
        """Weights, then the resume state (the commit point), then the metrics: rank 0 writes,
        every rank takes part in gathering sharded tensors."""
        weights = model_state(self.model, self.ctx)
        state = self.state(weights)
        if not self.ctx.main:
            return
        meta = {"epoch": str(self.epoch), "format": "pt"}
        save_safetensors(self.out / "last.safetensors", weights, meta)
        if improved:
            save_safetensors(self.out / "best.safetensors", weights, meta)
        save_state(self.out / STATE, state)
        self.write_metrics()

    def write_metrics(self) -> None:
        lines = "".join(json.dumps(row) + "\n" for row in self.history)
        atomic_write(self.out / "metrics.jsonl", lines.encode("utf-8"))
