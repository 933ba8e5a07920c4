"""One process or many: the device, the process group under torchrun, DDP or FSDP2 wrapping,
sums across ranks and whole (unsharded) state dicts for rank 0 to save."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class Context:
    """Where this process trains: its rank among ``world`` processes and its device."""

    device: torch.device
    rank: int = 0
    world: int = 1
    fsdp: bool = False

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def pick_device(choice: str) -> torch.device:
    """``auto`` is CUDA when available, else the CPU; ``cuda`` without CUDA is an error."""
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA is not available on this machine; use --device cpu or auto")
    return torch.device(choice)


def setup(choice: str, fsdp: bool = False) -> Context:
    """The context of this process; under torchrun (``WORLD_SIZE`` > 1) joins the group
    (NCCL on CUDA, gloo on the CPU)."""
    device = pick_device(choice)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context(device, fsdp=False)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Context(device, dist.get_rank(), dist.get_world_size(), fsdp)


def teardown(ctx: Context) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(ctx: Context, values: torch.Tensor) -> torch.Tensor:
    """``values`` summed over the ranks (unchanged in one process)."""
    if not ctx.distributed:
        return values
    moved = values.to(ctx.device)
    dist.all_reduce(moved)
    return moved.to(values.device)


def any_rank(ctx: Context, flag: bool) -> bool:
    """Whether ``flag`` is set on any rank (so that every rank stops at the same step)."""
    if not ctx.distributed:
        return flag
    return bool(all_sum(ctx, torch.tensor([float(flag)])).item() > 0)


def wrap(model: nn.Module, ctx: Context) -> nn.Module:
    """The module to train: DDP, or FSDP2 (each top-level child sharded, then the root)."""
    if not ctx.distributed:
        return model
    if ctx.fsdp:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        mesh = init_device_mesh(ctx.device.type, (ctx.world,))
        for child in model.children():
            if any(True for _ in child.parameters()):
                fully_shard(child, mesh=mesh)
        return fully_shard(model, mesh=mesh)
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def model_state(model: nn.Module, ctx: Context) -> dict[str, torch.Tensor]:
    """The model's whole state dict on the CPU (on rank 0; every rank must call it)."""
    if ctx.fsdp and ctx.distributed:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        state = get_model_state_dict(model, options=options)
    else:
        state = model.state_dict()
    return {k: v.detach().to("cpu").clone() for k, v in state.items()}


def optimizer_state(model: nn.Module, optimizer, ctx: Context) -> dict:
    if ctx.fsdp and ctx.distributed:
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_optimizer_state_dict,
        )

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        return get_optimizer_state_dict(model, optimizer, options=options)
    return optimizer.state_dict()


def load_optimizer_state(model: nn.Module, optimizer, state: dict, ctx: Context) -> None:
    if ctx.fsdp and ctx.distributed:
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_optimizer_state_dict,
        )

        options = StateDictOptions(full_state_dict=True)
        set_optimizer_state_dict(model, optimizer, state, options=options)
    else:
        optimizer.load_state_dict(state)
