"""Pipeline parallelism: the model cut into stages at the design's split points, one process per
stage under torchrun, trained by a ``torch.distributed.pipelining`` schedule.

Copied verbatim into the scripts ``designer codegen --train-script --pipeline`` writes. Rank k
runs stage k on its device (gloo on the CPU, NCCL on GPUs). Every rank reads the same batches;
the first stage feeds the inputs, the last computes the loss (the recipe's objective, averaged
over the microbatches), validates and reports. Each rank steps its own optimizer, its gradients
clipped by their norm over all the stages, and saves its stage's weights and resume state into
``OUT/stage<k>/`` (their keys are the whole model's, so the stages' files together load into
it); ``metrics.jsonl`` sits in ``OUT``. BatchNorm sees one microbatch at a time in training.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.pipelining import Schedule1F1B, ScheduleGPipe, SplitPoint, pipeline

from designer.core.atomicfile import atomic_write  # recipe-local
from designer.train.recipe.dist import Context  # recipe-local
from designer.train.recipe.objective import Meter  # recipe-local
from designer.train.recipe.options import _number  # recipe-local
from designer.train.recipe.run import Result, Run  # recipe-local
from designer.train.recipe.run_setup import TrainError  # recipe-local
from designer.train.recipe.weights import init_weights  # recipe-local

SCHEDULES = {"gpipe": ScheduleGPipe, "1f1b": Schedule1F1B}


@dataclass(frozen=True)
class Stages:
    """Where the design cuts the model and where each stage runs."""

    splits: tuple[str, ...]  # the module that begins each stage after the first
    devices: tuple[str, ...]  # each stage's device in the design

    @property
    def count(self) -> int:
        return len(self.devices)


@dataclass(frozen=True)
class Stage:
    """This process's stage: its index among ``count`` and its device."""

    index: int
    count: int
    device: torch.device

    @property
    def first(self) -> bool:
        return self.index == 0

    @property
    def last(self) -> bool:
        return self.index == self.count - 1


@dataclass(frozen=True)
class PipeOptions:
    """How batches go through the stages: the schedule and the microbatches per batch."""

    schedule: str = "gpipe"
    microbatches: int = 4

    @classmethod
    def from_args(cls, args) -> PipeOptions:
        return cls(args.schedule, args.microbatches)


def add_pipeline_arguments(parser) -> None:
    """The pipeline's flags: its schedule and how many microbatches a batch is cut into."""
    d = PipeOptions()
    a = parser.add_argument
    a("--schedule", choices=tuple(SCHEDULES), default=d.schedule, help="gpipe (default) or 1f1b")
    a("--microbatches", type=_number(int, 1), default=d.microbatches, help="per batch (4)")


def world_problem(stages: Stages, script: str) -> str | None:
    """Why this process cannot run a stage: torchrun must start one process per stage."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == stages.count and "RANK" in os.environ:
        return None
    return (
        f"this script trains {stages.count} pipeline stages, one process each, but "
        f"{world} process(es) started; run torchrun --nproc_per_node={stages.count} {script} "
        "--data DIR"
    )


def stage_devices(stages: Stages, choice: str) -> list[torch.device]:
    """Each stage's device: the design's (``auto``), or all on the CPU, or stage k on GPU k."""
    cuda = torch.cuda.is_available()
    if choice == "cpu":
        return [torch.device("cpu")] * stages.count
    if choice == "cuda" and not cuda:
        raise ValueError("CUDA is not available on this machine; use --device cpu")
    if choice == "cuda":
        return [torch.device("cuda", k % torch.cuda.device_count()) for k in range(stages.count)]
    devices = [torch.device(d) for d in stages.devices]
    devices = [
        torch.device("cuda", k) if d == torch.device("cuda") else d for k, d in enumerate(devices)
    ]
    for k, device in enumerate(devices):
        if device.type == "cuda" and (not cuda or device.index >= torch.cuda.device_count()):
            raise ValueError(
                f"stage {k} is placed on {device}, which this machine lacks; use --device cpu"
            )
    return devices


def check_devices(devices: list[torch.device]) -> None:
    """One process group needs all stages on the CPU (gloo) or each on its own GPU (NCCL)."""
    kinds = {d.type for d in devices}
    if kinds != {"cpu"} and kinds != {"cuda"}:
        found = ", ".join(str(d) for d in devices)
        raise ValueError(
            f"stages on {found}: a pipeline runs on CPUs only or on GPUs only; "
            "use --device cpu or --device cuda"
        )
    gpus = [d for d in devices if d.type == "cuda"]
    if len(set(gpus)) < len(gpus):
        raise ValueError(
            "two stages share a GPU, which NCCL cannot do; place each stage on its own GPU"
        )


def join(stages: Stages, choice: str) -> Stage:
    """This process's stage, after joining the stages' process group."""
    devices = stage_devices(stages, choice)
    check_devices(devices)
    rank = int(os.environ["RANK"])
    device = devices[rank]
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        if device.type == "cuda":
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
    return Stage(rank, stages.count, device)


def from_last(stage: Stage, values: torch.Tensor) -> torch.Tensor:
    """``values`` of the last stage, on every stage."""
    moved = values.to(stage.device)
    dist.broadcast(moved, src=stage.count - 1)
    return moved.to(values.device)


def stage_sum(stage: Stage, values: torch.Tensor) -> torch.Tensor:
    """``values`` summed over the stages."""
    moved = values.to(stage.device)
    dist.all_reduce(moved)
    return moved.to(values.device)


def clip_stages(stage: Stage, params: list[nn.Parameter], max_norm: float) -> None:
    """Clip the gradients by their norm over all the stages (as one model's would be)."""
    grads = [p.grad for p in params if p.grad is not None]
    local = nn.utils.get_total_norm(grads) if grads else torch.zeros((), device=stage.device)
    total = stage_sum(stage, local.double().to(stage.device) ** 2).sqrt()
    nn.utils.clip_grads_with_norm_(params, max_norm, total.float())


def split_model(model: nn.Module, example: torch.Tensor, splits: tuple[str, ...]):
    """The model traced on ``example`` (one microbatch) and cut before each split module (a
    ``Pipe``); the modules' forwards, which torch wraps to mark the cuts, are unwrapped after."""
    spec = {name: SplitPoint.BEGINNING for name in splits}
    try:
        return pipeline(model, (example,), split_spec=spec)
    finally:
        for name in splits:
            module = model.get_submodule(name)
            vars(module).pop("forward", None)
            vars(module).pop("_orig_forward", None)


class PipelineRun(Run):
    """One stage's share of a pipelined run: the recipe's run, its model cut into stages."""

    def __init__(
        self, model, samples, opts, stage: Stage, stages: Stages, pipe: PipeOptions, report
    ) -> None:
        super().__init__(
            model, samples, opts, Context(stage.device), report if stage.last else None
        )
        self.stage, self.stages, self.whole = stage, stages, model
        self.pipe = pipe
        self.top, self.out = self.out, self.out / f"stage{stage.index}"
        if opts.amp or opts.fsdp:
            raise ValueError("--amp and --fsdp do not apply to pipeline stages; leave them out")
        if opts.batch % self.pipe.microbatches:
            raise ValueError(
                f"--batch {opts.batch} does not split into {self.pipe.microbatches} equal "
                "microbatches; give a --batch that --microbatches divides"
            )
        if self.pipe.schedule == "1f1b" and self.pipe.microbatches < stage.count:
            raise ValueError(
                f"--schedule 1f1b needs at least one microbatch per stage; give --microbatches "
                f"{stage.count} or more"
            )
        if len(self.train_idx) < opts.batch:
            raise TrainError(
                f"--batch {opts.batch} is more than the {len(self.train_idx)} training samples; "
                "give a smaller --batch"
            )
        if report is not None and stage.last:
            self.report = self.pipeline_report(report)

    def pipeline_report(self, report):
        """The recipe's report, its start telling the stages, schedule and microbatches."""

        def tell(kind: str, info: dict) -> None:
            if kind == "start":
                devices = [str(d) for d in stage_devices(self.stages, self.opts.device)]
                size = self.opts.batch // self.pipe.microbatches
                info = {**info, "stages": devices, "schedule": self.pipe.schedule}
                info.update(microbatches=self.pipe.microbatches, microbatch=size)
            report(kind, info)

        return tell

    # -- set up --------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Seed, start the whole model's weights on the CPU, cut it and keep this stage."""
        opts = self.opts
        random.seed(opts.seed)
        torch.manual_seed(opts.seed)
        state = self.saved_state() if opts.resume else None
        init_weights(self.whole, opts.seed)
        if opts.weights and state is None:
            self.load_weights(opts.weights)
        self.check_output()
        self.build_stages()
        if state is not None:
            self.net.load_state_dict(state["model"])
        self.optimizer = self.make_optimizer()
        self.scaler = torch.amp.GradScaler("cuda", enabled=False)
        if state is not None:
            self.restore(state)

    def build_stages(self) -> None:
        """This stage for training, and for validation traced in eval mode (BatchNorm and
        dropout as in evaluation; the weights are copied over before each validation)."""
        x, _ = self.samples[self.train_idx[0]]
        size, splits = self.opts.batch // self.pipe.microbatches, self.stages.splits
        example = x[None].expand(size, *x.shape).contiguous()  # one microbatch
        index, device = self.stage.index, self.stage.device
        self.whole.eval()
        frozen = split_model(self.whole, example, splits).build_stage(index, device)
        self.whole.train()
        stage = split_model(self.whole, example, splits).build_stage(index, device)
        self.model = self.net = stage.submod
        self.eval_net = frozen.submod
        schedule = SCHEDULES[self.pipe.schedule]
        self.schedule = schedule(stage, self.pipe.microbatches, loss_fn=self.loss_fn)
        self.eval_schedule = ScheduleGPipe(frozen, self.pipe.microbatches)

    def sample(self) -> dict:
        """No preview sample: the model's output lives on the last stage alone."""
        return {}

    # -- training ------------------------------------------------------------------------------

    def run_epoch(self, should_stop) -> bool:
        """The recipe's epoch, every stage stopping after the step any of them is asked to."""

        def any_stage() -> bool:
            return bool(stage_sum(self.stage, torch.tensor([float(should_stop())]))[0] > 0)

        return super().run_epoch(any_stage)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> torch.Tensor:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        losses: list[torch.Tensor] = []
        self.run_schedule(self.schedule, x, y, losses)
        if self.opts.clip > 0:
            clip_stages(self.stage, list(self.net.parameters()), self.opts.clip)
        self.optimizer.step()
        loss = torch.stack(losses).mean().detach() if losses else torch.zeros(())
        return from_last(self.stage, loss.float().cpu())

    def run_schedule(self, schedule, x, y=None, losses=None):
        """One batch through the stages: the first feeds it, the last returns the output."""
        if self.stage.first:
            return schedule.step(x)
        if self.stage.last and losses is not None:
            return schedule.step(target=y, losses=losses)
        return schedule.step()

    def val_batches(self) -> list[list[int]]:
        """Whole batches (the traced stages take one microbatch size), padded with index -1."""
        size = self.opts.batch
        padded = self.val_idx + [-1] * (-len(self.val_idx) % size)
        return [padded[i : i + size] for i in range(0, len(padded), size)]

    def evaluate(self) -> dict[str, float]:
        meter = Meter(self.samples.spec.task, self.samples.spec.num_classes)
        device = self.stage.device
        with torch.no_grad():
            weights = self.net.state_dict()
            for key, value in self.eval_net.state_dict().items():
                value.copy_(weights[key])
            for x, y, keep in self.loader(self.val_batches()):
                out = self.run_schedule(self.eval_schedule, x.to(device))
                if self.stage.last and keep.any():
                    y, keep = y.to(device), keep.to(device)
                    meter.add(self.loss_fn(out[keep], y[keep]), out[keep], y[keep])
        meter.sums = from_last(self.stage, meter.sums)
        return meter.result()

    def write_metrics(self) -> None:
        """``metrics.jsonl`` in the run's folder, by the last stage."""
        if self.stage.last:
            self.top.mkdir(parents=True, exist_ok=True)
            lines = "".join(json.dumps(row) + "\n" for row in self.history)
            atomic_write(self.top / "metrics.jsonl", lines.encode("utf-8"))


def train_pipeline(
    model, samples, opts, stages: Stages, pipe: PipeOptions, report=None, should_stop=None
) -> Result:
    """Train this process's stage of ``model`` (see the module's docstring)."""
    stage = join(stages, opts.device)
    try:
        run = PipelineRun(model, samples, opts, stage, stages, pipe, report)
        return run.fit(should_stop or (lambda: False))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def pipeline_start_line(info: dict) -> str:
    """``training 2 pipeline stages (cpu, cpu), gpipe over 4 microbatches of 4: ...``."""
    stages = info["stages"]
    return (
        f"training {len(stages)} pipeline stages ({', '.join(stages)}), {info['schedule']} over "
        f"{info['microbatches']} microbatches of {info['microbatch']}: {info['train']} samples, "
        f"{info['val']} for validation, {info['batches']} steps per epoch"
    )
