"""Running a design: memory estimate before allocating, per-node profile, latency benchmark.

Used by ``designer run``; everything here works on any device (the CPU, or CUDA with explicit
synchronisation around timings).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from designer.core import memory
from designer.core.graph import Design
from designer.core.memory import Estimate, estimate, human_bytes, shortfall
from designer.core.validate import Report
from designer.live.placed import is_placed
from designer.run.stages import StageUse, placed_run_problem, stage_lines, stage_uses

__all__ = [
    "Estimate",
    "StageUse",
    "TimedCapture",
    "available_memory",
    "benchmark",
    "estimate",
    "human_bytes",
    "peak_memory",
    "profile_nodes",
    "run_problem",
    "stage_lines",
    "stage_uses",
    "synchronizer",
]


def available_memory(device: torch.device) -> int:
    """Free bytes on ``device`` (the CPU: MemAvailable, capped by the cgroup's room)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    return memory.available_bytes()  # looked up at call time (tests replace it)


def run_problem(
    design: Design, report: Report, device: torch.device, *, capture: bool = True, amp: bool = False
) -> str | None:
    """Why a forward pass of ``design`` would not fit on ``device`` (None when it fits).

    Nothing is allocated: the estimate comes from the report (:mod:`designer.core.memory`). A
    placed design is refused when a tag names a GPU this machine lacks, and otherwise checked
    device by device (:mod:`designer.run.stages`)."""
    if is_placed(design):
        return placed_run_problem(
            design, report, device, available_memory, capture=capture, amp=amp
        )
    need = estimate(design, report, capture=capture, amp=amp)
    return shortfall(need, available_memory(device), str(device))


def synchronizer(device: torch.device) -> Callable[[], None]:
    """A function that waits for queued work on ``device`` (a no-op on the CPU)."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


class TimedCapture(dict):
    """A capture dict that also notes the seconds since the previous store, per node."""

    def __init__(self, sync: Callable[[], None]) -> None:
        super().__init__()
        self.sync = sync
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def __setitem__(self, key: str, value: Any) -> None:
        self.sync()
        now = time.perf_counter()
        self.seconds[key] = self.seconds.get(key, 0.0) + now - self._last
        self._last = now
        super().__setitem__(key, value)


def profile_nodes(
    model, inputs: tuple, sync: Callable[[], None], repeats: int = 3
) -> dict[str, tuple[float, Any]]:
    """Median seconds and output shape per top-level node (a block's inner nodes summed into it).

    Only shapes are kept: each capture is dropped before the next run starts."""
    runs: list[dict[str, float]] = []
    shapes: dict[str, Any] = {}
    for _ in range(repeats):
        capture = TimedCapture(sync)
        model.forward_capture(*inputs, into=capture)
        totals: dict[str, float] = {}
        for key, seconds in capture.seconds.items():
            top = key.split("/")[0]
            totals[top] = totals.get(top, 0.0) + seconds
        runs.append(totals)
        shapes = {k: _shape_of(v) for k, v in capture.items() if "/" not in k}
        del capture
    return {k: (statistics.median(r[k] for r in runs), shapes[k]) for k in shapes}


def _shape_of(value: Any) -> Any:
    """A tensor's shape as a tuple; a tuple of tensors as a tuple of shapes."""
    if isinstance(value, (tuple, list)):
        return tuple(_shape_of(v) for v in value)
    return tuple(value.shape) if hasattr(value, "shape") else None


def benchmark(
    forward: Callable[[], Any], sync: Callable[[], None], repeats: int, progress: bool = True
) -> list[float]:
    """Seconds per call of ``forward`` (after one warm-up call), with a progress bar if long."""
    forward()
    sync()
    times = []
    started = time.perf_counter()
    for i in range(repeats):
        t0 = time.perf_counter()
        forward()
        sync()
        times.append(time.perf_counter() - t0)
        if progress and time.perf_counter() - started > 2.0:
            _bar(i + 1, repeats)
    if progress and time.perf_counter() - started > 2.0:
        sys.stderr.write("\n")
    return times


def _bar(done: int, total: int, width: int = 30) -> None:
    filled = width * done // total
    sys.stderr.write(f"\r  benchmark [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


def peak_memory(device: torch.device) -> tuple[str, int]:
    """What the peak figure measures, and its bytes."""
    if device.type == "cuda":
        return "peak CUDA memory allocated", torch.cuda.max_memory_allocated(device)
    import resource

    return "peak process memory (RSS)", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
