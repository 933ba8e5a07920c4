"""The Run tab: run the design off the UI thread, per-node statistics, an activation preview.

The work is :class:`designer.run.session.RunWorker`'s; this panel starts it, polls it once per
frame (:meth:`RunPanel.poll`), fills the table and draws the selected node's activation into a
dynamic texture, captioned with that channel's own statistics. An image input is read with
``dpg.load_image`` (PNG, JPEG, BMP); the input size field runs the model on another size than
the design's Input (``3x128x128``; empty: the design's).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.core.params import ParamError
from designer.core.paramtext import from_text
from designer.gui.theme import ERROR, MUTED, WARNING
from designer.run.session import (
    COLOUR_MAPS,
    DEVICES,
    RunWorker,
    channels_of,
    fit_square,
    preview,
    statistics,
)

if TYPE_CHECKING:
    from designer.gui.host import Host

PREVIEW = 240  # the preview texture's side in pixels


class RunPanel:
    """Run button, device, input choice, results table and preview inside ``parent``."""

    def __init__(self, app: Host, parent: int | str) -> None:
        self.app = app
        self.worker = RunWorker()
        self.image: tuple | None = None
        self.shown_state = "idle"
        self._shown_run: tuple = ("idle", id(None), "")  # the finished run on show
        self.node: str | None = None
        self.picked: str | None = None  # the canvas selection last previewed
        g = app.guard
        with dpg.texture_registry():
            self.texture = dpg.add_dynamic_texture(
                PREVIEW, PREVIEW, [0.0, 0.0, 0.0, 1.0] * PREVIEW * PREVIEW
            )
        with dpg.group(parent=parent):
            with dpg.group(horizontal=True):
                self.button = dpg.add_button(label="Run", width=70, callback=g(self.run))
                self.device = dpg.add_combo(list(DEVICES), default_value="auto", width=80)
                dpg.add_button(label="Image…", callback=g(lambda *_: self.pick_image()))
                dpg.add_button(label="Random", callback=g(lambda *_: self.set_image(None)))
            self.input_text = dpg.add_text("input: random", color=MUTED)
            self.size = dpg.add_input_text(
                label="input size", hint="the design's (e.g. 3x128x128)", width=160
            )
            app.add_text_input(self.size)
            with dpg.group(horizontal=True):
                dpg.add_button(label="Save weights…", callback=g(lambda *_: self.ask_weights(True)))
                dpg.add_button(
                    label="Load weights…", callback=g(lambda *_: self.ask_weights(False))
                )
            self.state = dpg.add_text("not run yet", color=MUTED, wrap=310)
            with dpg.group(horizontal=True):
                self.channel = dpg.add_slider_int(
                    label="ch", width=120, min_value=0, max_value=0, callback=g(self.redraw)
                )
                self.cmap = dpg.add_combo(
                    list(COLOUR_MAPS), default_value="viridis", width=90, callback=g(self.redraw)
                )
            self.caption = dpg.add_text("select a node after a run to see its output", wrap=310)
            self.image_item = dpg.add_image(self.texture, width=PREVIEW, height=PREVIEW, show=False)
            with dpg.table(
                header_row=True, resizable=True, scrollY=True, height=-1, row_background=True
            ) as self.table:
                for name in ("node", "ms", "min", "max", "mean", "std"):
                    dpg.add_table_column(label=name)
        with dpg.file_dialog(
            show=False,
            modal=True,
            width=700,
            height=420,
            callback=g(lambda s, a, u: self._file_chosen(a)),
        ) as self.dialog:
            for ext in (".png", ".jpg", ".jpeg", ".bmp", ".pt", ".safetensors", ".*"):
                dpg.add_file_extension(ext)
        self._file_action = None

    # -- actions ----------------------------------------------------------------------------------
    def run(self, *_: object) -> None:
        """Start a run of the current (top-level) design, at the input size asked for."""
        design = self.sized(self.app.editor.root, dpg.get_value(self.size))
        if not self.worker.start(design, dpg.get_value(self.device), self.image):
            self.app.say("a run is still going", WARNING)
            return
        dpg.configure_item(self.button, enabled=False)

    def sized(self, design, text: str):
        """``design`` with its first Input's shape set to ``text`` (the design as it is if empty).

        Refused with the reason when the text is not a shape."""
        if not text.strip():
            return design
        inputs = design.nodes_of_type("Input")
        if not inputs:
            return design
        param = design.spec("Input").param_index["shape"]
        try:
            shape = param.coerce(from_text(param, text.replace("×", "x")))
        except ParamError as exc:
            from designer.edit.refused import EditRefused

            raise EditRefused(f"input size: {exc.message}", exc.hint) from None
        copy = design.copy()
        copy.node(inputs[0])["params"]["shape"] = shape
        return copy

    def set_image(self, path: Path | None) -> None:
        """Use an image file as the first input (None: random values)."""
        if path is None:
            self.image = None
            dpg.set_value(self.input_text, "input: random")
            return
        loaded = dpg.load_image(str(path))
        if loaded is None:
            self.app.say(f"cannot read {path} as an image (PNG, JPEG or BMP)", WARNING)
            return
        width, height, channels, data = loaded
        self.image = (list(data), width, height, channels)
        dpg.set_value(self.input_text, f"input: {Path(path).name} ({width}x{height})")

    def pick_image(self) -> None:
        self._file_action = self.set_image
        dpg.configure_item(self.dialog, show=True, label="Input image")

    def ask_weights(self, save: bool) -> None:
        """Pick a .pt/.safetensors file to save the run's weights to or load them from."""
        self._file_action = self.save_weights if save else self.load_weights
        dpg.configure_item(self.dialog, show=True, label="Weights (.pt, .safetensors)")

    def save_weights(self, path: Path) -> None:
        self.app.say(f"weights saved to {self.worker.cache.save(path)}")

    def load_weights(self, path: Path) -> None:
        count = self.app.use_weights(path)
        self.app.say(f"loaded {count} tensors from {path}; the next run and Export use them")

    def adopt_weights(self, path: Path) -> int:
        """Load weights into the model the next run uses; returns how many tensors it read."""
        return self.worker.cache.load(self.app.editor.root, dpg.get_value(self.device), path)

    def _file_chosen(self, app_data: dict) -> None:
        path = app_data.get("file_path_name")
        if path and self._file_action is not None:
            self._file_action(Path(path))

    # -- each frame -------------------------------------------------------------------------------
    def poll(self) -> None:
        """Show the worker's progress; fill the table when a run has finished.

        Selecting a node on the canvas previews its output from the last run.
        """
        worker = self.worker
        chosen = self.app.selected_nodes()
        if not chosen:
            self.picked = None
        elif not self.app.editor.scope and chosen[0] != self.picked:
            self.picked = chosen[0]
            self.show(chosen[0])
        colour = {"failed": ERROR, "done": (230, 230, 230)}.get(worker.state, WARNING)
        text = worker.message if worker.state != "idle" else "not run yet"
        if dpg.get_value(self.state) != text:
            dpg.set_value(self.state, text)
            dpg.configure_item(self.state, color=colour)
        finished = (worker.state, id(worker.result), worker.message)
        if worker.busy or finished == self._shown_run:
            return
        self._shown_run, self.shown_state = finished, worker.state
        dpg.configure_item(self.button, enabled=True)
        if worker.state == "failed":
            self.app.say(f"run failed: {worker.message}", ERROR)
        elif worker.state == "done":
            self._fill_table()
            self.app.refresh_costs()
            chosen = self.app.selected_nodes() if not self.app.editor.scope else []
            outputs = self.app.editor.root.nodes_of_type("Output")
            self.show(chosen[0] if chosen else next(iter(outputs), None))

    def _fill_table(self) -> None:
        dpg.delete_item(self.table, children_only=True, slot=1)
        for row in self.worker.result.rows:
            with dpg.table_row(parent=self.table):
                dpg.add_selectable(
                    label=row.node,
                    span_columns=True,
                    callback=self.app.guard(lambda s, a, node: self.show(node)),
                    user_data=row.node,
                )
                for value in (row.seconds * 1000, row.min, row.max, row.mean, row.std):
                    dpg.add_text(f"{value:.3g}")

    def show(self, node: str | None) -> None:
        """Preview ``node``'s output from the last run (inner nodes as ``block/node``)."""
        result = self.worker.result
        if result is None or node not in result.outputs:
            return
        self.node = node
        tensor = result.outputs[node]
        dpg.configure_item(self.channel, max_value=max(0, channels_of(tensor) - 1))
        self.redraw()

    def redraw(self, *_: object) -> None:
        result = self.worker.result
        if result is None or self.node not in result.outputs:
            return
        tensor = result.outputs[self.node]
        channel = min(dpg.get_value(self.channel), channels_of(tensor) - 1)
        width, height, pixels = preview(tensor, channel, dpg.get_value(self.cmap))
        dpg.set_value(self.texture, fit_square(width, height, pixels, PREVIEW))
        low, high, mean, std = channel_statistics(tensor, channel)
        dpg.set_value(
            self.caption,
            f"{self.node} {tuple(tensor.shape)} ch {channel}: min {low:.3g} max {high:.3g} "
            f"mean {mean:.3g} std {std:.3g}",
        )
        dpg.configure_item(self.image_item, show=True)

    @property
    def has_preview(self) -> bool:
        return bool(dpg.is_item_shown(self.image_item))


def channel_statistics(tensor, channel: int) -> tuple[float, float, float, float]:
    """Min, max, mean and std of one channel of the first sample (what the preview shows)."""
    sample = tensor.detach()[0]
    if sample.dim() >= 2:
        sample = sample[min(channel, sample.shape[0] - 1)]
    return statistics(sample)
