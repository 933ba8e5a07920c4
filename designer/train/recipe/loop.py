"""The training loop, shared verbatim by ``designer train`` and the generated ``train.py``.

Same seed, same data order, same code: the in-app run and the script give the same losses. A run
writes ``metrics.jsonl`` (one object per epoch), ``last.safetensors``, ``best.safetensors`` and
``last.state.pt`` (weights, optimizer, schedule position, RNG: what ``--resume`` continues from)
into its folder. Progress goes to a ``report(kind, info)`` callback; ``should_stop()`` is asked
after every step (Ctrl+C through :func:`sigint_stops`), and a stopped run saves before returning.
Under torchrun every rank trains its share of each global batch; rank 0 reports and saves.
"""

from __future__ import annotations

import json
import math
import random
import signal
import threading
import time
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from designer.core.atomicfile import atomic_write  # recipe-local
from designer.train.recipe.augment import augment  # recipe-local
from designer.train.recipe.checkpoint import (  # recipe-local
    load_safetensors,
    load_state,
    save_safetensors,
    save_state,
)
from designer.train.recipe.data import check_targets, split  # recipe-local
from designer.train.recipe.dist import (  # recipe-local
    Context,
    all_sum,
    load_optimizer_state,
    model_state,
    optimizer_state,
    setup,
    teardown,
    wrap,
)
from designer.train.recipe.objective import (  # recipe-local
    METRIC,
    Meter,
    better,
    loss_name,
    make_loss,
)
from designer.train.recipe.options import Options  # recipe-local

STATE = "last.state.pt"
RESUME_KEYS = ("seed", "batch", "val_fraction", "optimizer", "fsdp")  # must match to resume


class TrainError(Exception):
    """A run that cannot start or go on; the message says why and what to do."""


@dataclass
class Result:
    """What a run left: its metrics per epoch, whether it was stopped, its folder."""

    history: list[dict]
    stopped: bool
    out: Path


def start_line(info: dict) -> str:
    """``training on cpu (1 process): 204 samples, 51 for validation, 13 steps per epoch``."""
    world = info["world"]
    return (
        f"training on {info['device']} ({world} process{'es' * (world > 1)}): {info['train']} "
        f"samples, {info['val']} for validation, {info['batches']} steps per epoch"
    )


def epoch_line(row: dict) -> str:
    """``epoch 3/30  train_loss 0.4120  val_loss 0.3981  val_miou 0.7312  lr 2.9e-03  4.1s``."""
    metric = next(name for name in METRIC.values() if name in row)
    return (
        f"epoch {row['epoch']}/{row['epochs']}  train_loss {row['train_loss']:.4f}  "
        f"val_loss {row['val_loss']:.4f}  {metric} {row[metric]:.4f}  lr {row['lr']:.1e}  "
        f"{row['seconds']:.1f}s"
    )


def init_weights(model: nn.Module, seed: int) -> None:
    """Reset every module from a seed derived from its qualified name, so the weights depend on
    the names alone, not on the order in which the modules were constructed."""
    with torch.random.fork_rng(devices=[]):
        for name, module in model.named_modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                torch.manual_seed(seed * 1_000_003 + zlib.crc32(name.encode("utf-8")))
                reset()


def learning_rate(base: float, step: int, total: int) -> float:
    """A linear warmup over the first 5% of the steps, then a cosine decay towards zero."""
    warmup = total // 20
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * progress))


def read_weights(path: str) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a ``torch.save`` file (a checkpoint's included)."""
    if str(path).endswith(".safetensors"):
        return load_safetensors(path)
    data = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            return data[key]
    return data


@contextmanager
def sigint_stops():
    """Within: the first Ctrl+C asks the run to stop after its current step (a second one
    interrupts at once). Yields the ``should_stop`` function."""
    asked = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield asked.is_set
        return

    def handler(signum, frame):
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield asked.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


def _ignore_sigint(worker: int) -> None:
    """Data workers leave Ctrl+C to the main process, which stops after its step."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


class Run:
    """One training run in this process (see the module's docstring)."""

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
            worker_init_fn=_ignore_sigint if self.opts.workers else None,
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

    # -- training ------------------------------------------------------------------------------

    def train_step(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> torch.Tensor:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        with self.autocast():
            out = self.net(x)
        loss = self.loss_fn(out, y)
        self.scaler.scale(loss).backward()
        if self.opts.clip > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.net.parameters(), self.opts.clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.detach()

    def run_epoch(self, should_stop: Callable[[], bool]) -> bool:
        """Train the rest of the current epoch; False when stopped (after saving)."""
        device = self.ctx.device
        batches = self.epoch_batches(self.epoch)
        for x, y, _ in self.loader(batches[self.done :], self.epoch):
            lr = learning_rate(self.opts.lr, self.step, self.total)
            loss = self.train_step(x.to(device, non_blocking=True), y.to(device), lr)
            n = float(y.shape[0])
            sums = all_sum(self.ctx, torch.tensor([float(loss) * n, n, float(should_stop())]))
            self.loss_sum += float(sums[0])
            self.loss_count += float(sums[1])
            self.step += 1
            self.done += 1
            info = {"epoch": self.epoch + 1, "batch": self.done, "batches": len(batches)}
            self.report("step", {**info, "loss": float(sums[0] / sums[1]), "lr": lr})
            if sums[2] > 0:
                self.save()
                return False
        return True

    def evaluate(self) -> dict[str, float]:
        meter = Meter(self.samples.spec.task, self.samples.spec.num_classes)
        device = self.ctx.device
        self.net.eval()
        with torch.no_grad():
            for x, y, keep in self.loader(self.val_batches()):
                with self.autocast():
                    out = self.net(x.to(device, non_blocking=True))
                y, keep = y.to(device), keep.to(device)
                if keep.any():
                    meter.add(self.loss_fn(out[keep], y[keep]), out[keep], y[keep])
        self.net.train()
        meter.sums = all_sum(self.ctx, meter.sums)
        return meter.result()

    def sample(self) -> dict:
        """The first validation sample with the model's prediction (uint8, on the CPU)."""
        index = self.val_idx[0]
        x, y = self.samples[index]
        self.model.eval()
        with torch.no_grad(), self.autocast():
            out = self.model(x[None].to(self.ctx.device)).float().cpu()[0]
        self.model.train()
        low, high = float(x.min()), float(x.max())
        image = ((x - low) / max(high - low, 1e-12) * 255).round().to(torch.uint8)
        prediction = out.argmax(0) if self.samples.spec.task != "regression" else out
        if prediction.dtype == torch.int64:
            prediction = prediction.to(torch.uint8)
        target = y.to(torch.uint8) if y.dtype == torch.int64 else y
        source = self.samples.source(index)
        return {
            "index": index,
            "source": source,
            "image": image.permute(1, 2, 0).contiguous(),
            "target": target,
            "prediction": prediction,
        }

    def end_epoch(self, started: float) -> None:
        row = {"epoch": self.epoch + 1, "train_loss": self.loss_sum / max(self.loss_count, 1.0)}
        row.update(self.evaluate())
        row["lr"] = learning_rate(self.opts.lr, max(self.step - 1, 0), self.total)
        row["seconds"] = round(time.perf_counter() - started, 3)
        improved = better(self.metric, row[self.metric], self.best)
        if improved:
            self.best = row[self.metric]
        self.history.append(row)
        self.epoch, self.done, self.loss_sum, self.loss_count = self.epoch + 1, 0, 0.0, 0.0
        self.save(improved)
        self.report("epoch", {**row, "epochs": self.opts.epochs})
        if not self.ctx.distributed:
            self.report("sample", self.sample())

    def fit(self, should_stop: Callable[[], bool]) -> Result:
        self.prepare()
        if self.ctx.main:
            self.out.mkdir(parents=True, exist_ok=True)
            self.write_metrics()  # what the saved state holds, should the last write be lost
        self.report(
            "start",
            {
                "epochs": self.opts.epochs,
                "epoch": self.epoch + 1,
                "batches": self.batches,
                "train": len(self.train_idx),
                "val": len(self.val_idx),
                "metric": self.metric,
                "device": str(self.ctx.device),
                "world": self.ctx.world,
                "history": [dict(row) for row in self.history],
            },
        )
        while self.epoch < self.opts.epochs:
            started = time.perf_counter()
            if not self.run_epoch(should_stop):
                self.report("stopped", {"epoch": self.epoch + 1, "batch": self.done})
                return Result(self.history, True, self.out)
            self.end_epoch(started)
        self.report("done", {"epochs": self.epoch, "best": self.best})
        return Result(self.history, False, self.out)


def train(model: nn.Module, samples, opts: Options, report=None, should_stop=None) -> Result:
    """Train ``model`` (weights set here: fresh from ``opts.seed``, ``opts.weights`` or the
    saved state) on ``samples``; see the module's docstring."""
    ctx = setup(opts.device, opts.fsdp)
    try:
        return Run(model, samples, opts, ctx, report).fit(should_stop or (lambda: False))
    finally:
        teardown(ctx)
