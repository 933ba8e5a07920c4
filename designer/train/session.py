"""Training a design in the app: the checks before a run, a foreground run for the command line,
and :class:`TrainJob`, a run on a worker thread for the editor.

Before anything trains, :func:`prepare` checks the design against the data: one Input taking the
data's channels at its size, one Output giving the data's classes at the mask's size (an error
names the Output node, the layer before it and the data folder), and enough free memory for
a training step. The run itself is the recipe's loop (:mod:`designer.train.recipe.loop`), the
code the generated ``train.py`` contains.

For the editor::

    job = TrainJob(design, Options(data="out/shapes", out="runs/unet", epochs=20))
    job.start()
    ...                              # every frame:
    for event in job.poll():         # Event("step" | "epoch" | "sample" | ..., info)
        ...
    job.stop()                       # finishes the step, saves last.*; job.resume() goes on
    job.model, job.weights           # the trained live model and its best weights file
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from designer.core.graph import Design
from designer.core.shapes import format_shape
from designer.core.validate import Report, validate
from designer.train.recipe.data import DataError, DataSpec, open_data
from designer.train.recipe.options import Options

TRAIN_COPIES = 4  # float32 copies of each parameter a step holds: weights, gradients, 2 moments


class SetupError(Exception):
    """A run that cannot start: ``status`` 2 for data or weights that cannot be read, 1 for a
    design that does not fit them (``report`` holds an invalid design's issues)."""

    def __init__(self, message: str, status: int = 1, report: Report | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.report = report


@dataclass
class Prepared:
    """A checked run: the live model (on the CPU; the loop moves it), the data, the options."""

    design: Design
    model: Any
    samples: Any
    options: Options
    report: Report


# -- the checks ---------------------------------------------------------------------------------


def _only(design: Design, block: str) -> str:
    found = design.nodes_of_type(block)
    if len(found) != 1:
        raise SetupError(
            f"training needs a design with one {block} node; this one has {len(found)}"
        )
    return found[0]


def _data_shape(design: Design, node: str, spec: DataSpec, data: str) -> tuple[int, ...]:
    """The Input shape (batch 1) the data feeds; the channels must be those the design takes."""
    declared = tuple(design.node(node)["params"].get("shape", ()))
    if declared and declared[0] != spec.in_channels:
        raise SetupError(
            f"Input `{node}` takes {declared[0]} channels but the images in {data} have "
            f"{spec.in_channels}; set the Input's shape to {spec.in_channels}, ..."
        )
    size = spec.size or declared[1:]
    return (1, spec.in_channels, *size)


def _output_problem(shape: tuple, spec: DataSpec) -> str | None:
    """What the data needs of the output's shape ``(1, ...)`` (None when it fits)."""
    k = spec.num_classes
    if spec.task == "segmentation":
        want = (1, k, *spec.size) if spec.size else None
        if len(shape) != 4 or shape[1] != k or (want and shape != want):
            size = "x".join(map(str, spec.size)) if spec.size else "the masks' size"
            return f"{k} class maps at {size}"
    elif spec.task == "classification" and (len(shape) != 2 or shape[1] != k):
        return f"{k} class scores per image"
    return None


def check_fit(design: Design, spec: DataSpec, data: str, batch: int = 1) -> Report:
    """The design validated at the data's shape; :class:`SetupError` when they do not fit."""
    node = _only(design, "Input")
    out = _only(design, "Output")
    shape = _data_shape(design, node, spec, data)
    report = validate(design, {node: (batch, *shape[1:])})
    if not report.ok:
        raise SetupError(f"the design does not take the data in {data}: {report.errors[0]}")
    given = report.nodes[out].shape
    problem = _output_problem((1, *given[1:]), spec)
    if problem:
        before = design.inputs_of(out).get("in", ("?", ""))[0]
        names = f" ({', '.join(spec.classes)})" if spec.classes else ""
        shown = format_shape((None, *given[1:]))
        raise SetupError(
            f"Output `{out}` gives {shown} but the data in {data} needs {problem}{names}; "
            f"change `{before}` (e.g. its out_channels to {spec.num_classes})"
        )
    return report


def check_memory(design: Design, report: Report, device: str, amp: bool) -> None:
    """Refuse a run whose training step would not fit in the device's free memory."""
    try:
        from designer.core.memory import Estimate, available_bytes, estimate, shortfall
    except ImportError:  # the estimate is optional
        return
    forward = estimate(design, report, capture=True, amp=amp)
    need = Estimate(
        parameters=TRAIN_COPIES * forward.parameters,
        inputs=forward.inputs,
        activations=2 * forward.activations,  # kept for backward, and their gradients
        workspace=forward.workspace,
        overhead=forward.overhead,
        code=forward.code,
    )
    if device == "cuda":
        import torch

        free, where = torch.cuda.mem_get_info()[0], "the GPU"
    else:
        free, where = available_bytes(), "this machine"
    problem = shortfall(need, free, where)
    if problem:
        raise SetupError(f"a training step would not fit: {problem}; use a smaller --batch")


def prepare(design: Design, options: Options) -> Prepared:
    """Check the design, the data and the weights, and build the live model (on the CPU)."""
    from designer.live.model import build
    from designer.live.weights import WeightsError, load_weights
    from designer.train.recipe.dist import pick_device

    report = validate(design)
    if not report.ok:
        raise SetupError(f"the design has {len(report.errors)} errors", 1, report)
    try:
        samples = open_data(options.data)
    except DataError as exc:
        raise SetupError(str(exc), 2) from None
    fit = check_fit(design, samples.spec, options.data, options.batch)
    check_memory(design, fit, pick_device(options.device).type, options.amp)
    model = build(design, "cpu")
    if options.weights:
        try:
            load_weights(model, options.weights)
        except WeightsError as exc:
            raise SetupError(str(exc), exc.status) from None
    return Prepared(design, model, samples, options, report)


def fit(prepared: Prepared, report=None, should_stop=None):
    """Run the recipe's loop on a prepared run; returns its :class:`Result`."""
    from designer.train.recipe.loop import train

    return train(prepared.model, prepared.samples, prepared.options, report, should_stop)


# -- on a worker thread -------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """What a job reports: ``kind`` and its ``info``.

    * ``start``: epochs, epoch (the first to run, from 1), batches (per epoch), train, val
      (sample counts), metric (``val_miou``, ``val_accuracy`` or ``val_mse``), device, world,
      history (the rows of the epochs done before a resume);
    * ``step``: epoch, batch, batches, loss, lr;
    * ``epoch``: one row of metrics.jsonl (epoch, train_loss, val_loss, the metric, lr, seconds)
      plus epochs;
    * ``sample``: index, source (file), image (uint8 [H,W,C]), target and prediction (uint8
      [H,W] class maps, or a label / value), all CPU tensors;
    * ``stopped``: epoch, batch (where it stopped; last.* are saved);
    * ``done``: epochs, best (the best metric);
    * ``failed``: message (a setup or training error; nothing more follows).
    """

    kind: str
    info: dict = field(default_factory=dict)


class TrainJob:
    """A training run on a worker thread; see the module's docstring.

    ``state`` is ``idle``, ``running``, ``stopping``, ``stopped``, ``done`` or ``failed``.
    ``metrics`` is the history so far (rows of metrics.jsonl). ``model`` is the live model being
    trained (None before the run is prepared), its weights updated in place; ``weights`` is the
    best weights file written so far (else the last, else None).
    """

    def __init__(self, design: Design, options: Options) -> None:
        self.design = design
        self.options = options
        self.model: Any = None
        self.error: str | None = None
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._metrics: list[dict] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = "idle"
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        return self._state

    @property
    def metrics(self) -> list[dict]:
        with self._lock:
            return [dict(row) for row in self._metrics]

    @property
    def out(self) -> Path:
        return Path(self.options.out)

    @property
    def weights(self) -> Path | None:
        for name in ("best.safetensors", "last.safetensors"):
            if (self.out / name).is_file():
                return self.out / name
        return None

    def start(self) -> None:
        """Train from the start (fresh weights, or ``options.weights``) on a new thread."""
        self._launch(replace(self.options, resume=False))

    def resume(self) -> None:
        """Continue the run saved in ``options.out`` (after :meth:`stop` or an earlier session)."""
        self._launch(replace(self.options, resume=True))

    def stop(self) -> None:
        """Ask the run to stop after its current step; it saves, then reports ``stopped``."""
        if self._state == "running":
            self._state = "stopping"
            self._stop.set()

    def poll(self) -> list[Event]:
        """The events since the last call, oldest first (never blocks)."""
        events = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker; True when it has finished."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def _launch(self, options: Options) -> None:
        if self._state in ("running", "stopping"):
            raise RuntimeError("this job is already running; stop it first")
        self.options, self.error = options, None
        self._stop.clear()
        self._state = "running"
        self._thread = threading.Thread(target=self._work, name="designer-train", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        from designer.train.recipe.loop import TrainError

        try:
            prepared = prepare(self.design, self.options)
            self.model = prepared.model
            result = fit(prepared, self._report, self._stop.is_set)
            self._state = "stopped" if result.stopped else "done"
        except (SetupError, TrainError, DataError, ValueError) as exc:
            self._fail(str(exc))
        except Exception as exc:  # a bug or an out-of-memory: a message, never a dead UI
            self._fail(f"{type(exc).__name__}: {exc}")

    def _fail(self, message: str) -> None:
        self.error = message
        self._state = "failed"
        self._events.put(Event("failed", {"message": message}))

    def _report(self, kind: str, info: dict) -> None:
        if kind == "start":
            with self._lock:
                self._metrics = [dict(row) for row in info["history"]]
        if kind == "epoch":
            with self._lock:
                self._metrics.append({k: v for k, v in info.items() if k != "epochs"})
        self._events.put(Event(kind, info))
