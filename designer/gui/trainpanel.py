"""The Train tab: train the design on a folder of data and watch it learn.

The work is :class:`designer.train.session.TrainJob`'s (a worker thread); this panel starts,
stops and resumes it, and every frame (:meth:`TrainPanel.poll`) turns its events into a progress
bar, loss and metric curves, and a validation sample with its true and predicted masks. A failed
run's message stays in the panel. Per-node statistics (:mod:`designer.train.overlay`) are computed
on a thread of their own from the run's last weights file and drawn on the nodes
(:mod:`designer.gui.nodestats`). When a run ends, its weights become those Run, Export and Save
weights use. The tab's widgets are :mod:`designer.gui.trainform`'s, the run's display
:mod:`designer.gui.trainprogress`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.gui.nodestats import NodeOverlay, NodeStatistics
from designer.gui.theme import WARNING
from designer.gui.trainform import TrainForm, folder_next_to
from designer.gui.trainprogress import TrainProgress
from designer.gui.worker import Worker

if TYPE_CHECKING:
    from designer.gui.host import Host


class TrainPanel(TrainForm, TrainProgress, NodeStatistics):
    """Data, settings, Start/Stop/Resume, progress, curves, a sample, node statistics."""

    def __init__(self, app: Host, parent: int | str) -> None:
        self.app = app
        self.job = None  # the current TrainJob
        self.rows: list[dict] = []  # metrics rows of the current run
        self.metric = "val_miou"
        self.shown: tuple = ()
        self.shapes: Worker | None = None  # making a shapes set
        self.probe = None  # overlay.Probe of the current run
        self.probing: Worker | None = None
        self.probe_again = False
        self.pending_weights = None  # a finished job whose weights wait for an idle Run worker
        self.saved = False  # whether the job has written its own last weights
        self.deferred: bool | None = None  # a start (True: resume) waiting for the probe
        self.overlay = NodeOverlay(app)
        self._build(parent)

    # -- actions ----------------------------------------------------------------------------------
    def make_shapes(self, folder: Path | None = None) -> None:
        """Write a shapes set (``n`` images of ``px`` pixels) beside the design, on a thread."""
        from designer.train.shapes import make_shapes

        if self.shapes is not None and self.shapes.busy:
            self.app.say("a shapes set is still being written", WARNING)
            return
        target = folder or folder_next_to(self.app, ".shapes")
        n, size = dpg.get_value(self.shapes_n), dpg.get_value(self.shapes_size)
        self.shapes = Worker(make_shapes, target, n, size)
        self.app.say(f"writing {n} shapes images of {size}x{size} to {target}…")

    def start(self, *_: object, resume: bool = False) -> None:
        """Start (or resume) training a snapshot of the design on a worker thread."""
        from designer.train.overlay import Probe
        from designer.train.session import TrainJob

        if self.job is not None and self.job.state in ("running", "stopping"):
            self.app.say("training is still going; stop it first", WARNING)
            return
        if self.probing is not None and self.probing.busy and self.probing.fresh:
            self.deferred = resume  # fresh weights draw from the generator the run will use
            self._set_state("starting once the node statistics are done…", WARNING)
            return
        try:
            options = self.options(resume)
        except ValueError as exc:
            self._show_error(str(exc))
            return
        design = self.app.editor.root.copy()
        self.job = TrainJob(design, options)
        self.probe = Probe(design, options)
        self.rows, self.pending_weights, self.saved = [], None, resume
        self._show_error("")
        self._redraw_curves()
        dpg.configure_item(self.progress, overlay="preparing…")
        dpg.set_value(self.progress, 0.0)
        if resume:
            self.job.resume()
        else:
            self.job.start()
        self._sync_buttons()

    def resume(self, *_: object) -> None:
        self.start(resume=True)

    def stop(self, *_: object) -> None:
        if self.job is not None:
            self.job.stop()
            self._sync_buttons()

    # -- each frame -------------------------------------------------------------------------------
    def poll(self) -> None:
        """Apply the job's events, finished helpers and the node overlay (never blocks)."""
        self._poll_shapes()
        if self.job is not None:
            for event in self.job.poll():
                getattr(self, f"_on_{event.kind}", lambda info: None)(event.info)
        if self.pending_weights is not None:
            self._adopt_weights()
        self._poll_probe()
        if self.deferred is not None and self.probing is None:
            resume, self.deferred = self.deferred, None
            self.start(resume=resume)
        self._sync_buttons()
        self.overlay.sync()

    def _poll_shapes(self) -> None:
        shapes = self.shapes
        if shapes is None or shapes.busy:
            return
        self.shapes = None
        if shapes.error:
            self._show_error(f"making the shapes set failed: {shapes.error}")
            return
        dpg.set_value(self.data, str(shapes.result))
        self.app.say(f"shapes set written to {shapes.result}")

    def _sync_buttons(self) -> None:
        state = self.job.state if self.job is not None else "idle"
        out = dpg.get_value(self.out).strip()
        key = (state, out, self.job, self.app.editor.path)
        if key == self.shown:
            return
        self.shown = key
        busy = state in ("running", "stopping")
        folder = Path(out) if out else folder_next_to(self.app, ".train")
        saved = (folder / "last.state.pt").is_file()
        dpg.configure_item(self.start_button, enabled=not busy)
        dpg.configure_item(self.stop_button, enabled=state == "running")
        dpg.configure_item(self.resume_button, enabled=not busy and saved)

    # -- weights for Run, Export and Save weights -------------------------------------------------
    def _adopt_weights(self) -> None:
        """Load a finished run's weights into the Run tab's model (once its worker is idle)."""
        from designer.run.session import RunFailed
        from designer.train.overlay import same_model

        job = self.pending_weights
        if self.app.run_in_progress():
            return
        self.pending_weights = None
        path = job.weights
        if path is None:
            return
        if not same_model(job.design, self.app.editor.root):
            self.app.say("the design changed during training: Run keeps its own weights", WARNING)
            return
        try:
            self.app.use_weights(path)
        except RunFailed as exc:
            self.app.say(f"trained weights not loaded: {exc}", WARNING)
            return
        self.app.say(f"Run, Export and Save weights now use the trained weights ({path.name})")
