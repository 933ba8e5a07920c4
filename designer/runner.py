"""Running a design: memory estimate before allocating, per-node profile, latency benchmark.

Used by ``designer run``; everything here works on any device (the CPU, or CUDA with explicit
synchronisation around timings).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from designer.graph import Design
from designer.validate import Report

GiB = 1024**3


@dataclass(frozen=True)
class Estimate:
    """Bytes a forward pass with every node's output kept (a capture) needs, at most."""

    parameters: int
    activations: int

    @property
    def total(self) -> int:
        return self.parameters + self.activations


def _numel(shape) -> int:
    count = 1
    for d in shape:
        count *= 1 if d is None else d
    return count


def _activation_elements(design: Design, report: Report) -> int:
    """Elements of every node output, composite inner nodes included."""
    total = 0
    for node_id in report.order:
        info = report.nodes.get(node_id)
        if info is None:
            continue
        spec = design.spec(info.block)
        if spec.composite is not None:
            instance = spec.composite.instantiate(info.values, list(info.in_shapes))
            total += _activation_elements(instance.body, instance.report)
        total += sum(_numel(s) for s in info.out_shapes)
    return total


def estimate(design: Design, report: Report, amp: bool = False) -> Estimate:
    """Parameters in fp32 plus all activations (fp16/bf16 under ``amp``), from the Report alone."""
    return Estimate(
        4 * report.total_params, (2 if amp else 4) * _activation_elements(design, report)
    )


def available_memory(device: torch.device) -> int:
    """Free bytes on ``device`` (the CPU: MemAvailable, or free physical pages)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


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
    """Median seconds and output per top-level node (a block's inner nodes summed into it)."""
    runs: list[dict[str, float]] = []
    captured: dict[str, Any] = {}
    for _ in range(repeats):
        capture = TimedCapture(sync)
        model.forward_capture(*inputs, into=capture)
        totals: dict[str, float] = {}
        for key, seconds in capture.seconds.items():
            top = key.split("/")[0]
            totals[top] = totals.get(top, 0.0) + seconds
        runs.append(totals)
        captured = {k: v for k, v in capture.items() if "/" not in k}
    return {k: (statistics.median(r[k] for r in runs), captured[k]) for k in captured}


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
