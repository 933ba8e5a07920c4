"""Running a design from the editor: a cached live model, a worker thread, statistics and previews.

Everything here is headless (the window only shows what it produces). :class:`ModelCache` keeps
the live model, and so its weights, while the design's hash and the device stay the same.
:class:`RunWorker` runs one forward pass off the UI thread and records per-node time and output
statistics; a failure (out-of-memory included) becomes a message, never an exception in the UI.
:func:`preview` turns one channel of an activation into RGBA pixels through a colour map.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from designer.core.graph import Design

DEVICES = ("auto", "cpu", "cuda")
COLOUR_MAPS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "gray": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    "viridis": (
        (0.267, 0.005, 0.329),
        (0.231, 0.322, 0.545),
        (0.128, 0.567, 0.551),
        (0.369, 0.789, 0.383),
        (0.993, 0.906, 0.144),
    ),
    "magma": (
        (0.001, 0.000, 0.014),
        (0.316, 0.071, 0.485),
        (0.716, 0.215, 0.475),
        (0.987, 0.536, 0.382),
        (0.987, 0.991, 0.750),
    ),
    "coolwarm": ((0.230, 0.299, 0.754), (0.865, 0.865, 0.865), (0.706, 0.016, 0.150)),
}


@dataclass(frozen=True)
class NodeRun:
    """One node's measured time and output statistics (the first output of a multi-output)."""

    node: str
    seconds: float
    shape: tuple[int, ...]
    min: float
    max: float
    mean: float
    std: float


@dataclass
class RunResult:
    """What a run produced: rows in execution order, every captured output (on the CPU)."""

    device: str
    seconds: float
    rows: list[NodeRun] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    reused_weights: bool = False
    stages: list[Any] = field(default_factory=list)  # StageUse per stage of a placed design

    def row(self, node: str) -> NodeRun | None:
        return next((r for r in self.rows if r.node == node), None)

    def seconds_per_node(self) -> dict[str, float]:
        """Measured seconds per top-level node (a block's inner nodes summed into it)."""
        totals: dict[str, float] = {}
        for row in self.rows:
            top = row.node.split("/")[0]
            totals[top] = totals.get(top, 0.0) + row.seconds
        return totals


class RunFailed(Exception):
    """A run that could not be done; the message says why and what to try."""


def statistics(tensor: Any) -> tuple[float, float, float, float]:
    """Min, max, mean and standard deviation of a tensor (as floats; std 0 for one element)."""
    values = tensor.detach().float()
    if values.numel() == 0:
        return (0.0, 0.0, 0.0, 0.0)
    std = values.std().item() if values.numel() > 1 else 0.0
    return (values.min().item(), values.max().item(), values.mean().item(), std)


def placement_key(design: Design) -> tuple:
    """What places the model: every node's tag and the stages' devices."""
    from designer.core.placement import tag_of

    tags = tuple((n, tag_of(design, n)) for n in design.node_ids())
    return tags, tuple(design.meta.get("stages") or ())


class ModelCache:
    """The live model of the last design run, rebuilt only when the design or device changes."""

    def __init__(self) -> None:
        self.key: tuple[str, str] | None = None
        self.model: Any = None

    def get(self, design: Design, device: str) -> tuple[Any, bool]:
        """The model for ``design`` on ``device`` and whether it was reused (same weights)."""
        from designer.core.fileformat import model_fingerprint
        from designer.live.model import build, resolve_device

        target = str(resolve_device(device))
        key = (model_fingerprint(design), target, placement_key(design))
        if key == self.key and self.model is not None:
            return self.model, True
        self.model = None  # free the old one first (GPU memory)
        self.model = build(design, target).eval()
        self.key = key
        return self.model, False

    def holds(self, design: Design, target: str) -> bool:
        """True when the cached model is this design's, built for ``target``."""
        from designer.core.fileformat import model_fingerprint

        key = (model_fingerprint(design), target, placement_key(design))
        return self.model is not None and self.key == key

    def save(self, path: str | os.PathLike) -> Path:
        """Write the current weights as ``.safetensors`` or a ``torch.save`` state dict."""
        if self.model is None:
            raise RunFailed("run the design once before saving its weights")
        from designer.core.atomicfile import atomic_write

        target = Path(path)
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        if target.suffix == ".safetensors":
            from safetensors.torch import save

            payload = save(state)
        else:
            import io

            import torch

            buffer = io.BytesIO()
            torch.save(state, buffer)
            payload = buffer.getvalue()
        atomic_write(target, payload)
        return target

    def load(self, design: Design, device: str, path: str | os.PathLike) -> int:
        """Load a weights file into the design's model (built if needed); returns tensor count."""
        from designer.live.weights import WeightsError, load_weights

        check_memory(self, design, device)  # the model is built to be run
        model, _ = self.get(design, device)
        try:
            return load_weights(model, path)
        except WeightsError as exc:
            raise RunFailed(str(exc)) from None


def image_tensor(pixels: Any, width: int, height: int, channels: int, shape: Sequence[int]) -> Any:
    """An image (row-major values in [0, 1], ``channels`` per pixel) as an input of ``shape``.

    ``shape`` is ``(batch, C, H, W)``; the image is resized with bilinear interpolation, turned to
    grey for one channel, and its colour channels repeated or cut to ``C`` (alpha is dropped).
    """
    import torch
    import torch.nn.functional as F

    if len(shape) != 4:
        raise RunFailed(f"an image needs an input of shape (N, C, H, W), this one is {shape}")
    data = torch.as_tensor(pixels, dtype=torch.float32).reshape(height, width, channels)
    colour = data[..., : min(channels, 3)].permute(2, 0, 1)
    want = shape[1]
    if want == 1:
        colour = colour.mean(0, keepdim=True)
    else:
        colour = colour.repeat((want + colour.shape[0] - 1) // colour.shape[0], 1, 1)[:want]
    batch = shape[0] or 1
    resized = F.interpolate(colour[None], size=tuple(shape[2:]), mode="bilinear")
    return resized.expand(batch, -1, -1, -1).contiguous()


def run_design(
    cache: ModelCache,
    design: Design,
    device: str = "auto",
    image: tuple | None = None,
    seed: int = 0,
    progress: Callable[[str], None] = lambda text: None,
) -> RunResult:
    """One forward pass with per-node timing; raises :class:`RunFailed` with a clear reason."""
    import torch

    from designer.live.model import resolve_device
    from designer.live.plan import PlanError
    from designer.run.runner import TimedCapture, synchronizer

    try:
        progress("checking memory")
        check_memory(cache, design, device)
        progress("building the model")
        model, reused = cache.get(design, device)
    except (PlanError, ValueError) as exc:
        raise RunFailed(str(exc)) from None
    target = next((p.device for p in model.parameters()), torch.device("cpu"))
    torch.manual_seed(seed)
    inputs = list(model.example_inputs())
    if image is not None:
        inputs[0] = image_tensor(*image, tuple(inputs[0].shape)).to(target)
    progress(f"running on {target}")
    capture = TimedCapture(synchronizer(target))
    started = time.perf_counter()
    try:
        with torch.no_grad():
            model.forward_capture(*inputs, into=capture)
    except torch.cuda.OutOfMemoryError:
        cache.model, cache.key = None, None
        torch.cuda.empty_cache()
        raise RunFailed(f"out of memory on {target}: try the CPU or a smaller input") from None
    except RuntimeError as exc:
        raise RunFailed(f"the model failed on {target}: {str(exc).splitlines()[0]}") from None
    result = RunResult(str(target), time.perf_counter() - started, reused_weights=reused)
    result.stages = stages_of(design, resolve_device(device))
    progress("computing statistics")
    for node, value in capture.items():
        tensor = value[0] if isinstance(value, (tuple, list)) else value
        if not isinstance(tensor, torch.Tensor):
            continue
        tensor = tensor.detach().cpu()
        result.outputs[node] = tensor
        row = NodeRun(
            node, capture.seconds.get(node, 0.0), tuple(tensor.shape), *statistics(tensor)
        )
        result.rows.append(row)
    return result


def check_memory(cache: ModelCache, design: Design, device: str) -> None:
    """Refuse, before anything is allocated, a run that would not fit (:class:`RunFailed`).

    The estimate keeps every node's output (previews); on a GPU those outputs are also copied to
    the CPU. A cached model of the same design is already in memory, its weights not counted."""
    from dataclasses import replace

    from designer.core import memory
    from designer.core.memory import Estimate, estimate, shortfall
    from designer.core.validate import validate
    from designer.live.model import resolve_device
    from designer.live.placed import is_placed
    from designer.run.runner import available_memory
    from designer.run.stages import placed_run_problem

    report = validate(design)
    if not report.ok:
        return  # building the model reports the issues
    try:
        target = resolve_device(device)
    except ValueError as exc:
        raise RunFailed(str(exc)) from None
    if is_placed(design):  # checked device by device; a cached model is there already
        problem = None
        if not cache.holds(design, str(target)):
            problem = placed_run_problem(
                design, report, target, available_memory, capture=True, amp=False
            )
        if problem is not None:
            raise RunFailed(f"cannot run the placed design: {problem}; nothing was allocated")
        return
    need = estimate(design, report, capture=True)
    if cache.holds(design, str(target)):
        need = replace(need, parameters=0)
    problem = shortfall(need, available_memory(target), str(target))
    if problem is None and target.type == "cuda":
        copies = Estimate(0, inputs=need.inputs, activations=need.activations)
        problem = shortfall(
            copies, memory.available_bytes(), "the CPU (outputs copied for previews)"
        )
    if problem is not None:
        raise RunFailed(
            f"not enough memory to run: {problem}; nothing was allocated: make the input "
            "smaller or the model narrower"
        )


class RunWorker:
    """Runs :func:`run_design` on a thread; the UI polls :attr:`state` every frame."""

    def __init__(self) -> None:
        self.cache = ModelCache()
        self.state = "idle"  # idle, running, done, failed
        self.message = ""
        self.result: RunResult | None = None
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, design: Design, device: str, image: tuple | None = None) -> bool:
        """Start a run on a snapshot of ``design``; False when one is still going."""
        if self.busy:
            return False
        snapshot = design.copy()
        self.state, self.message = "running", "starting"
        self._thread = threading.Thread(
            target=self._work, args=(snapshot, device, image), daemon=True
        )
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _work(self, design: Design, device: str, image: tuple | None) -> None:
        def progress(text: str) -> None:
            self.message = text

        try:
            self.result = run_design(self.cache, design, device, image, progress=progress)
        except RunFailed as exc:
            self.state, self.message = "failed", str(exc)
            return
        except Exception as exc:  # a bug must not take the window down; it is reported
            self.state, self.message = "failed", f"internal error: {type(exc).__name__}: {exc}"
            return
        done = self.result
        reuse = "same weights" if done.reused_weights else "new random weights"
        self.state = "done"
        self.message = f"ran on {done.device} in {done.seconds * 1000:.1f} ms ({reuse})"


def stages_of(design: Design, target: Any) -> list:
    """Each stage's device, parameters and memory share (empty for an unplaced design)."""
    from designer.core.validate import validate
    from designer.run.stages import stage_uses

    return stage_uses(design, validate(design), target, capture=True)


def channels_of(tensor: Any) -> int:
    """How many channels a preview can pick from (dimension 1 of a batch, else 1)."""
    return int(tensor.shape[1]) if tensor.dim() >= 3 else 1


def preview(tensor: Any, channel: int = 0, colour_map: str = "viridis") -> tuple[int, int, list]:
    """One channel of the first sample as ``(width, height, RGBA floats)``, min-max normalised.

    A 4-D output shows its H x W plane, a 3-D one its length as a strip, a 2-D one its features.
    """
    import torch

    sample = tensor.detach().float().cpu()[0]
    if sample.dim() >= 2:
        plane = sample[min(channel, sample.shape[0] - 1)]
        while plane.dim() > 2:  # a volume shows its middle slice
            plane = plane[plane.shape[0] // 2]
    else:
        plane = sample
    if plane.dim() == 1:
        plane = plane[None]
    low, high = plane.min(), plane.max()
    norm = (plane - low) / (high - low) if high > low else torch.zeros_like(plane)
    stops = torch.tensor(COLOUR_MAPS[colour_map])
    position = norm.flatten() * (len(stops) - 1)
    index = position.floor().clamp(max=len(stops) - 2).long()
    frac = (position - index)[:, None]
    rgb = stops[index] * (1 - frac) + stops[index + 1] * frac
    rgba = torch.cat([rgb, torch.ones(len(rgb), 1)], 1)
    return int(plane.shape[1]), int(plane.shape[0]), rgba.flatten().tolist()


def fit_square(width: int, height: int, pixels: list, side: int) -> list:
    """An RGBA image scaled (nearest pixel) into a black ``side`` x ``side`` square, top left."""
    import torch
    import torch.nn.functional as F

    image = torch.tensor(pixels, dtype=torch.float32).reshape(height, width, 4).permute(2, 0, 1)
    scale = side / max(width, height)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    scaled = F.interpolate(image[None], size=size, mode="nearest")[0]
    out = torch.zeros(4, side, side)
    out[3] = 1.0
    out[:, : size[0], : size[1]] = scaled
    return out.permute(1, 2, 0).flatten().tolist()
