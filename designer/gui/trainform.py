"""The Train tab's widgets: data and settings form, buttons, progress, curves and a sample.

:class:`TrainForm` is mixed into :class:`designer.gui.trainpanel.TrainPanel`: it builds the tab once
and reads the run's :class:`~designer.train.recipe.options.Options` from the form.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.gui.theme import ERROR, MUTED
from designer.train.recipe.options import DEVICES, LOSSES, OPTIMIZERS, Options

if TYPE_CHECKING:
    from designer.gui.host import Host

SAMPLE = 96  # side of each sample picture, in pixels
PICTURES = ("image", "target", "prediction")
WRAP = 300


def folder_next_to(app: Host, suffix: str) -> Path:
    """``<design>.<suffix>`` beside the design file (unsaved: in the editor's state folder)."""
    editor = app.editor
    if editor.path is not None:
        return editor.path.with_suffix(suffix)
    return app.recovery_folder.parent / "train" / f"{editor.root.name}{suffix}"


class TrainForm:
    """Builds the tab; expects ``app`` and the actions of :class:`~.trainpanel.TrainPanel`."""

    app: Host

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
            self.app.add_text_input(item)
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

    def options(self, resume: bool = False) -> Options:
        """The run's options from the form."""
        f = {k: dpg.get_value(item) for k, item in self.fields.items()}
        data = dpg.get_value(self.data).strip()
        if not data:
            raise ValueError("choose a data folder first (or make the shapes set)")
        if f["epochs"] < 1 or f["batch"] < 1 or not f["lr"] > 0:
            raise ValueError("epochs and batch must be at least 1 and the learning rate above 0")
        out = dpg.get_value(self.out).strip() or str(folder_next_to(self.app, ".train"))
        return Options(data=data, out=out, resume=resume, **f)
