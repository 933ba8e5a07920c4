"""A run's training: its steps, epochs and validation, on top of :class:`RunSetup`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from designer.train.recipe.dist import all_sum  # recipe-local
from designer.train.recipe.objective import Meter, better  # recipe-local
from designer.train.recipe.run_setup import RunSetup  # recipe-local


@dataclass
class Result:
    """What a run left: its metrics per epoch, whether it was stopped, its folder."""

    history: list[dict]
    stopped: bool
    out: Path


def learning_rate(base: float, step: int, total: int) -> float:
    """A linear warmup over the first 5% of the steps, then a cosine decay towards zero."""
    warmup = total // 20
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * progress))


class Run(RunSetup):
    """One training run in this process (see :mod:`.loop`)."""

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
