"""The Train tab's view of a run: its events become the progress bar, state line, curves, sample.

:class:`TrainProgress` is mixed into :class:`designer.gui.trainpanel.TrainPanel`; each
``_on_<kind>`` method handles one kind of :class:`designer.train.session.TrainJob` event.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import dearpygui.dearpygui as dpg

from designer.gui.theme import ERROR, WARNING
from designer.gui.trainform import PICTURES, SAMPLE

if TYPE_CHECKING:
    from designer.gui.host import Host

METRIC_NAMES = {"val_miou": "mIoU", "val_accuracy": "accuracy", "val_mse": "MSE"}


class TrainProgress:
    """Shows the current run; expects the widgets of :class:`~designer.gui.trainform.TrainForm`."""

    app: Host

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


def _label(value: Any) -> str:
    return f"{value.item():.3g}" if value.numel() == 1 else str(tuple(value.shape))
