"""The Train tab: train the design on a folder of data and watch it learn.

The work is :class:`designer.train.session.TrainJob`'s (a worker thread); this panel starts,
stops and resumes it, and every frame (:meth:`TrainPanel.poll`) turns its events into a progress
bar, loss and metric curves, and a validation sample with its true and predicted masks. A failed
run's message stays in the panel. Per-node statistics (:mod:`designer.train.overlay`) are computed
on a thread of their own from the run's last weights file and drawn on the nodes
(:class:`NodeOverlay`). When a run ends, its weights become those Run, Export and Save weights use.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dearpygui.dearpygui as dpg

from designer.gui.theme import ERROR, MUTED, WARNING
from designer.train.recipe.options import DEVICES, LOSSES, OPTIMIZERS, Options

if TYPE_CHECKING:
    from designer.gui.app import App

SAMPLE = 96  # side of each sample picture, in pixels
PICTURES = ("image", "target", "prediction")
METRIC_NAMES = {"val_miou": "mIoU", "val_accuracy": "accuracy", "val_mse": "MSE"}
WRAP = 300


def _folder_next_to(app: App, suffix: str) -> Path:
    """``<design>.<suffix>`` beside the design file (unsaved: in the editor's state folder)."""
    editor = app.editor
    if editor.path is not None:
        return editor.path.with_suffix(suffix)
    return app.recovery_folder.parent / "train" / f"{editor.root.name}{suffix}"


class Worker:
    """One function on a daemon thread; ``result`` or ``error`` once it has finished."""

    def __init__(self, fn, *args: Any) -> None:
        self.result: Any = None
        self.error: str | None = None
        self.fresh = False  # a probe at fresh weights (it draws random numbers)
        self._thread = threading.Thread(target=self._work, args=(fn, *args), daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._thread.is_alive()

    def _work(self, fn, *args: Any) -> None:
        try:
            self.result = fn(*args)
        except Exception as exc:  # shown in the panel, never fatal
            self.error = f"{type(exc).__name__}: {exc}" if not _plain(exc) else str(exc)


def _plain(exc: Exception) -> bool:
    """Errors whose message is written for the user (no type name needed)."""
    from designer.live.weights import WeightsError
    from designer.train.recipe.data import DataError

    return isinstance(exc, (DataError, WeightsError, ValueError))


class TrainPanel:
    """Data, settings, Start/Stop/Resume, progress, curves, a sample, node statistics."""

    def __init__(self, app: App, parent: int | str) -> None:
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

    # -- building ---------------------------------------------------------------------------------
    def _build(self, parent: int | str) -> None:
        g, d = self.app.guard, Options()
        with dpg.texture_registry():
            black = [0.0, 0.0, 0.0, 1.0] * SAMPLE * SAMPLE
            self.textures = {k: dpg.add_dynamic_texture(SAMPLE, SAMPLE, black) for k in PICTURES}
        with dpg.group(parent=parent):
            with dpg.group(horizontal=True):
                self.data = dpg.add_input_text(hint="data folder or tensor file", width=-70)
                dpg.add_button(label="Folder…", callback=g(lambda *_: self.pick_data()))
            with dpg.group(horizontal=True):
                dpg.add_button(label="Make shapes set", callback=g(lambda *_: self.make_shapes()))
                self.shapes_n = dpg.add_input_int(label="n", default_value=256, width=70, step=0)
                self.shapes_size = dpg.add_input_int(label="px", default_value=64, width=50, step=0)
            self.out = dpg.add_input_text(hint="run folder (default: beside the design)", width=-1)
            self._settings(d)
            with dpg.group(horizontal=True):
                self.start_button = dpg.add_button(label="Start", width=70, callback=g(self.start))
                self.stop_button = dpg.add_button(label="Stop", width=70, callback=g(self.stop))
                self.resume_button = dpg.add_button(
                    label="Resume", width=70, callback=g(self.resume)
                )
            self.show_stats = dpg.add_checkbox(
                label="gradient and activation stats on nodes",
                callback=g(lambda s, on, u: self.set_overlay(on)),
            )
            self.progress = dpg.add_progress_bar(default_value=0.0, width=-1, overlay="")
            self.state = dpg.add_text("not trained yet", color=MUTED, wrap=WRAP)
            self.error = dpg.add_text("", color=ERROR, wrap=WRAP, show=False)
            self._plots()
            self._sample()
        for item in (self.data, self.out, self.shapes_n, self.shapes_size, *self.fields.values()):
            self.app.text_inputs.add(item)
        with dpg.file_dialog(
            show=False,
            modal=True,
            directory_selector=True,
            width=700,
            height=420,
            label="Data folder",
            callback=g(lambda s, a, u: self.set_data(a.get("file_path_name"))),
        ) as self.dialog:
            pass
        self._sync_buttons()

    def _settings(self, d: Options) -> None:
        f = self.fields = {}
        with dpg.group(horizontal=True):
            f["epochs"] = dpg.add_input_int(label="epochs", default_value=20, width=85, step=0)
            f["batch"] = dpg.add_input_int(label="batch", default_value=d.batch, width=85, step=0)
        with dpg.group(horizontal=True):
            f["lr"] = dpg.add_input_double(
                label="lr", default_value=d.lr, width=85, format="%.4g", step=0
            )
            f["optimizer"] = dpg.add_combo(OPTIMIZERS, default_value=d.optimizer, width=80)
            dpg.add_text("optimizer")
        with dpg.group(horizontal=True):
            f["loss"] = dpg.add_combo(LOSSES, default_value=d.loss, width=85)
            dpg.add_text("loss")
            f["device"] = dpg.add_combo(DEVICES, default_value=d.device, width=80)
            dpg.add_text("device")

    def _plots(self) -> None:
        with dpg.plot(label="loss", height=180, width=-1, no_menus=True) as self.loss_plot:
            dpg.add_plot_legend(location=dpg.mvPlot_Location_NorthEast)
            self.loss_x = dpg.add_plot_axis(dpg.mvXAxis, label="epoch")
            with dpg.plot_axis(dpg.mvYAxis) as self.loss_y:
                self.train_series = dpg.add_line_series([], [], label="train")
                self.val_series = dpg.add_line_series([], [], label="val")
        with dpg.plot(label="mIoU", height=160, width=-1, no_menus=True) as self.metric_plot:
            self.metric_x = dpg.add_plot_axis(dpg.mvXAxis, label="epoch")
            with dpg.plot_axis(dpg.mvYAxis) as self.metric_y:
                self.metric_series = dpg.add_line_series([], [], label="mIoU")

    def _sample(self) -> None:
        self.sample_caption = dpg.add_text("image · true · predicted (after an epoch)", color=MUTED)
        with dpg.group(horizontal=True):
            self.pictures = {
                k: dpg.add_image(self.textures[k], width=SAMPLE, height=SAMPLE) for k in PICTURES
            }

    # -- actions ----------------------------------------------------------------------------------
    def pick_data(self) -> None:
        dpg.configure_item(self.dialog, show=True)

    def set_data(self, path: str | Path | None) -> None:
        if path:
            dpg.set_value(self.data, str(path))

    def make_shapes(self, folder: Path | None = None) -> None:
        """Write a shapes set (``n`` images of ``px`` pixels) beside the design, on a thread."""
        from designer.train.shapes import make_shapes

        if self.shapes is not None and self.shapes.busy:
            self.app.say("a shapes set is still being written", WARNING)
            return
        target = folder or _folder_next_to(self.app, ".shapes")
        n, size = dpg.get_value(self.shapes_n), dpg.get_value(self.shapes_size)
        self.shapes = Worker(make_shapes, target, n, size)
        self.app.say(f"writing {n} shapes images of {size}x{size} to {target}…")

    def options(self, resume: bool = False) -> Options:
        """The run's options from the form."""
        f = {k: dpg.get_value(item) for k, item in self.fields.items()}
        data = dpg.get_value(self.data).strip()
        if not data:
            raise ValueError("choose a data folder first (or make the shapes set)")
        if f["epochs"] < 1 or f["batch"] < 1 or not f["lr"] > 0:
            raise ValueError("epochs and batch must be at least 1 and the learning rate above 0")
        out = dpg.get_value(self.out).strip() or str(_folder_next_to(self.app, ".train"))
        return Options(data=data, out=out, resume=resume, **f)

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

    def set_overlay(self, on: bool) -> None:
        """Show per-node statistics on the canvas (computed now, then after every epoch)."""
        self.overlay.on = on
        if on:
            self._probe()

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
        folder = Path(out) if out else _folder_next_to(self.app, ".train")
        saved = (folder / "last.state.pt").is_file()
        dpg.configure_item(self.start_button, enabled=not busy)
        dpg.configure_item(self.stop_button, enabled=state == "running")
        dpg.configure_item(self.resume_button, enabled=not busy and saved)

    # -- events -----------------------------------------------------------------------------------
    def _on_start(self, info: dict) -> None:
        self.rows = [dict(row) for row in info["history"]]
        self.metric = info["metric"]
        name = METRIC_NAMES.get(self.metric, self.metric)
        dpg.configure_item(self.metric_plot, label=name)
        dpg.configure_item(self.metric_series, label=name)
        self._redraw_curves()
        self._set_state(
            f"training on {info['device']}: {info['train']} train, {info['val']} validation "
            f"samples, {info['batches']} batches per epoch",
            WARNING,
        )

    def _on_step(self, info: dict) -> None:
        dpg.set_value(self.progress, info["batch"] / max(info["batches"], 1))
        dpg.configure_item(
            self.progress,
            overlay=f"epoch {info['epoch']} · batch {info['batch']}/{info['batches']} · "
            f"loss {info['loss']:.3f}",
        )

    def _on_epoch(self, info: dict) -> None:
        self.rows.append(dict(info))
        self.saved = True
        self._redraw_curves()
        self._set_state(self.epoch_line(info), WARNING)
        if self.overlay.on:
            self._probe()

    def _on_sample(self, info: dict) -> None:
        from designer.train.overlay import sample_pictures

        pictures = sample_pictures(info, SAMPLE)
        for key in PICTURES:
            if key in pictures:
                dpg.set_value(self.textures[key], pictures[key])
            dpg.configure_item(self.pictures[key], show=key in pictures)
        caption = f"{Path(info['source']).name}: image · true · predicted"
        if "target" not in pictures:
            caption = f"{Path(info['source']).name}: true {_label(info['target'])} · "
            caption += f"predicted {_label(info['prediction'])}"
        dpg.set_value(self.sample_caption, caption)

    def _on_stopped(self, info: dict) -> None:
        self._set_state(
            f"stopped in epoch {info['epoch']} after batch {info['batch']}; Resume goes on",
            WARNING,
        )
        self.pending_weights, self.saved = self.job, True

    def _on_done(self, info: dict) -> None:
        name = METRIC_NAMES.get(self.metric, self.metric)
        best = f"; best {name} {info['best']:.3f}" if info.get("best") is not None else ""
        self._set_state(f"done: {info['epochs']} epochs{best}", (140, 220, 140))
        dpg.set_value(self.progress, 1.0)
        self.pending_weights = self.job

    def _on_failed(self, info: dict) -> None:
        self._show_error(f"training failed: {info['message']}")
        self._set_state("failed (see below)", ERROR)
        dpg.configure_item(self.progress, overlay="")
        self.app.say("training failed; the Train tab says why", ERROR)

    def epoch_line(self, row: dict) -> str:
        name = METRIC_NAMES.get(self.metric, self.metric)
        metric = row.get(self.metric)
        shown = f" · {name} {metric:.3f}" if metric is not None else ""
        return (
            f"epoch {row['epoch']}/{row.get('epochs', '?')}: train loss {row['train_loss']:.3f}"
            f" · val loss {row['val_loss']:.3f}{shown} · {row.get('seconds', 0):.1f} s"
        )

    # -- showing ----------------------------------------------------------------------------------
    def _redraw_curves(self) -> None:
        epochs = [float(r["epoch"]) for r in self.rows]
        dpg.set_value(self.train_series, [epochs, [float(r["train_loss"]) for r in self.rows]])
        dpg.set_value(self.val_series, [epochs, [float(r["val_loss"]) for r in self.rows]])
        metric = [float(r.get(self.metric, 0.0)) for r in self.rows]
        dpg.set_value(self.metric_series, [epochs, metric])
        for axis in (self.loss_x, self.loss_y, self.metric_x, self.metric_y):
            dpg.fit_axis_data(axis)

    def _set_state(self, text: str, colour: tuple) -> None:
        dpg.set_value(self.state, text)
        dpg.configure_item(self.state, color=colour)

    def _show_error(self, text: str) -> None:
        dpg.set_value(self.error, text)
        dpg.configure_item(self.error, show=bool(text))

    @property
    def points(self) -> int:
        """How many epochs the curves show."""
        return len(dpg.get_value(self.train_series)[0])

    # -- weights for Run, Export and Save weights -------------------------------------------------
    def _adopt_weights(self) -> None:
        """Load a finished run's weights into the Run tab's model (once its worker is idle)."""
        from designer.run.session import RunFailed
        from designer.train.overlay import same_model

        job, run = self.pending_weights, self.app.run_panel
        if run.worker.busy:
            return
        self.pending_weights = None
        path = job.weights
        if path is None:
            return
        editor = self.app.editor
        if not same_model(job.design, editor.root):
            self.app.say("the design changed during training: Run keeps its own weights", WARNING)
            return
        try:
            run.worker.cache.load(editor.root, dpg.get_value(run.device), path)
        except RunFailed as exc:
            self.app.say(f"trained weights not loaded: {exc}", WARNING)
            return
        dpg.set_value(self.app.export_dialog.weights, str(path))
        self.app.say(f"Run, Export and Save weights now use the trained weights ({path.name})")

    # -- node statistics --------------------------------------------------------------------------
    def _probe(self) -> None:
        """Compute node statistics on a thread from the run's last weights (or fresh ones)."""
        if self.probing is not None and self.probing.busy:
            self.probe_again = True
            return
        probe = self.probe if self.job is not None else None
        if probe is None:
            from designer.train.overlay import Probe

            try:
                probe = self.probe = Probe(self.app.editor.root.copy(), self.options())
            except ValueError as exc:
                self.app.say(f"node statistics need data: {exc}", WARNING)
                return
        last = Path(probe.options.out) / "last.safetensors"
        if self.job is not None and not self.saved:  # the file, if any, is an older run's
            if self.job.state in ("running", "stopping"):
                return  # fresh weights would draw from the run's random generator: wait
            last = None
        weights = last if last and last.is_file() else None
        self.probing = Worker(probe.run, weights)
        self.probing.fresh = weights is None
        self.probe_again = False

    def _poll_probe(self) -> None:
        probing = self.probing
        if probing is None or probing.busy:
            return
        self.probing = None
        if probing.error:
            self.app.say(f"node statistics failed: {probing.error}", WARNING)
        else:
            self.overlay.stats = probing.result
        if self.probe_again:
            self._probe()


def _label(value: Any) -> str:
    return f"{value.item():.3g}" if value.numel() == 1 else str(tuple(value.shape))


class NodeOverlay:
    """A line of training statistics added to each node of the canvas (top level only)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.on = False
        self.stats: dict | None = None
        self.items: dict[str, tuple[int, int, int]] = {}  # node -> (node item, attribute, text)
        self.shown: dict[str, str] = {}

    def sync(self) -> None:
        """Keep the lines in step with the canvas (nodes are redrawn, added and deleted)."""
        nodes = self.app.canvas.ids.node_item
        wanted = self.stats if self.on and self.stats and not self.app.editor.scope else {}
        for node in [n for n in self.items if n not in wanted or n not in nodes]:
            self._remove(node)
        for node, stats in wanted.items():
            item = nodes.get(node)
            if item is None:
                continue
            if node not in self.items or self.items[node][0] != item:
                self._remove(node)
                with dpg.node_attribute(
                    parent=item, attribute_type=dpg.mvNode_Attr_Static
                ) as attribute:
                    text = dpg.add_text("")
                self.items[node] = (item, attribute, text)
            line = stats.text()
            if self.shown.get(node) != line:
                self.shown[node] = line
                text = self.items[node][2]
                dpg.set_value(text, line)
                dpg.configure_item(text, color=WARNING if stats.suspicious else (120, 200, 255))

    def _remove(self, node: str) -> None:
        _, attribute, _ = self.items.pop(node, (None, None, None))
        self.shown.pop(node, None)
        if attribute is not None and dpg.does_item_exist(attribute):
            dpg.delete_item(attribute)
