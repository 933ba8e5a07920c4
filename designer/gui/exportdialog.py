"""Export ONNX: path, opset, dynamic axes and weights; the export runs on a thread and its
figures are shown as ``designer export`` prints them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.gui.theme import ERROR, WARNING

if TYPE_CHECKING:
    from designer.gui.host import Host


class ExportDialog:
    """Export ONNX: path, opset, dynamic axes and weights; the export runs on a thread."""

    AXES = ("batch", "height", "width")

    def __init__(self, app: Host) -> None:
        self.app = app
        self.result = None
        self.error: str | None = None
        self.weights_file: str | None = None
        self._thread: threading.Thread | None = None
        self._shown = None
        g = app.guard
        with dpg.window(
            label="Export ONNX", show=False, width=520, height=330, no_saved_settings=True
        ) as self.window:
            self.path = dpg.add_input_text(label="file", default_value="model.onnx", width=360)
            self.opset = dpg.add_input_int(label="opset (0: default)", default_value=0, width=120)
            with dpg.group(horizontal=True):
                dpg.add_text("dynamic axes:")
                self.axes = {a: dpg.add_checkbox(label=a) for a in self.AXES}
            self.weights = dpg.add_input_text(
                label="weights", hint=".pt or .safetensors (empty: random)", width=360
            )
            for item in (self.path, self.opset, self.weights):
                app.add_text_input(item)
            with dpg.group(horizontal=True):
                self.button = dpg.add_button(label="Export", callback=g(lambda *_: self.start()))
                dpg.add_button(label="Close", callback=g(lambda *_: self.close()))
            self.outcome = dpg.add_text("", wrap=490)

    @property
    def visible(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def open(self) -> None:
        if self.app.editor.path is not None and dpg.get_value(self.path) == "model.onnx":
            dpg.set_value(self.path, str(self.app.editor.path.with_suffix(".onnx")))
        dpg.configure_item(self.window, show=True, pos=(300, 150))

    def close(self) -> None:
        dpg.configure_item(self.window, show=False)

    def use_weights(self, path: Path) -> None:
        """Export with the weights in ``path`` (the field stays editable)."""
        dpg.set_value(self.weights, str(path))

    def start(self) -> None:
        """Export a snapshot of the design with the dialog's settings, off the UI thread."""
        if self._thread is not None and self._thread.is_alive():
            self.app.say("an export is still going", WARNING)
            return
        options = {
            "opset": dpg.get_value(self.opset) or None,
            "dynamic": [a for a, box in self.axes.items() if dpg.get_value(box)],
            "weights": dpg.get_value(self.weights).strip() or None,
        }
        path = Path(dpg.get_value(self.path).strip() or "model.onnx")
        self.result, self.error = None, None
        self.weights_file = options["weights"]
        dpg.set_value(self.outcome, "exporting and verifying…")
        dpg.configure_item(self.outcome, color=WARNING)
        design = self.app.editor.root.copy()
        self._thread = threading.Thread(
            target=self._export, args=(design, path, options), daemon=True
        )
        self._thread.start()

    def _export(self, design, path: Path, options: dict) -> None:
        from designer.interop.export import ExportError, export_onnx

        try:
            self.result = export_onnx(design, path, **options)
        except ExportError as exc:
            self.error = "\n".join([str(exc), *(p.line() for p in exc.parity)])
        except Exception as exc:  # reported in the dialog, never fatal
            self.error = f"internal error: {type(exc).__name__}: {exc}"

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def poll(self) -> None:
        """Show the outcome once the export thread has finished."""
        if self.busy or (self.result, self.error) == self._shown:
            return
        self._shown = (self.result, self.error)
        if self.error is not None:
            dpg.set_value(self.outcome, f"export failed: {self.error}")
            dpg.configure_item(self.outcome, color=ERROR)
        elif self.result is not None:
            dpg.set_value(self.outcome, describe_export(self.result, self.weights_file))
            dpg.configure_item(self.outcome, color=(140, 220, 140))


def describe_export(result, weights: str | None = None) -> str:
    """The export's figures, line by line as ``designer export`` prints them."""
    lines = [f"loaded {result.weights} tensors from {weights}"] if result.weights else []
    lines.append(
        f"wrote {result.path} ({file_size(result.size)}, opset {result.opset}, "
        f"{result.summary()}) in {result.seconds:.1f} s"
    )
    if result.checked:
        lines.append("onnx.checker (full check): passed")
    lines += [parity.line() for parity in result.parity]
    return "\n".join(lines)


def file_size(count: int) -> str:
    """Bytes as a short figure, as the CLI writes them."""
    if count < 1024:
        return f"{count} bytes"
    return f"{count / 1024:.1f} KiB" if count < 2**20 else f"{count / 2**20:.1f} MiB"
