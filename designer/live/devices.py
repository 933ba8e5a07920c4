"""Devices: the one a model is built on, and those its placement tags name.

A tag's device must exist on this machine: ``cuda:2`` on a machine with two GPUs is refused with
the node it sits on and the fix, before anything is allocated.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from designer.core.graph import Design
from designer.core.placement import DEVICE, STAGE, device_of, tag_of, tag_problem


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` is CUDA when available, else the CPU; a CUDA device this machine lacks is an
    error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if resolved.type == "cuda":
        problem = missing_cuda(resolved)
        if problem is not None:
            raise ValueError(f"{problem}; use --device cpu or auto")
    return resolved


def missing_cuda(device: torch.device) -> str | None:
    """Why a CUDA device cannot be used here (absent, or an index past the last GPU), or None."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        return "CUDA is not available on this machine"
    if device.index is not None and device.index >= count:
        return f"{device} does not exist: this machine has {count} CUDA device(s)"
    return None


def placement_problem(design: Design, nodes: Iterable[str] | None = None) -> str | None:
    """The first node whose tag names no device, or a device this machine lacks, with the fix."""
    stages = design.meta.get("stages") or []
    for node_id in design.node_ids() if nodes is None else nodes:
        tag = tag_of(design, node_id)
        problem = tag_problem(tag, len(stages))
        if problem is not None:
            return f"node {node_id!r}: {problem}"
        name = device_of(design, tag) if tag else None
        problem = None if name is None else device_problem(name)
        if problem is not None:
            return f"node {node_id!r} is placed on {_where(tag, name)}: {problem}; {_fix(tag)}"
    return None


def device_problem(name: str) -> str | None:
    """Why a device name cannot be used on this machine, or None."""
    if not isinstance(name, str) or not DEVICE.match(name):
        return f"{name!r} is not a device: use cpu, cuda, cuda:N or meta"
    device = torch.device(name)
    return missing_cuda(device) if device.type == "cuda" else None


def _where(tag: str, name: str) -> str:
    return f"{name} (stage {tag})" if STAGE.match(tag) else name


def _fix(tag: str) -> str:
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    have = "cpu" + (f", cuda:0 to cuda:{count - 1}" if count else "")
    if STAGE.match(tag):
        return (
            f"map stage {tag} to a device this machine has ({have}) in the design's stages, "
            "or split it again (designer place --devices ...)"
        )
    return f"tag the node with a device this machine has ({have})"


def tag_devices(design: Design, tags: Iterable[str], home: torch.device) -> dict[str, torch.device]:
    """The device of each tag; untagged parts run on ``home``. Raises ValueError as
    :func:`placement_problem` words it."""
    problem = placement_problem(design)
    if problem is not None:
        raise ValueError(problem)
    return {tag: torch.device(device_of(design, tag)) if tag else home for tag in tags}
