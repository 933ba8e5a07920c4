"""File › Import…: a model (``package.module:callable``, ``file.py:callable``, a ``.pt2`` or an
``.onnx`` file) becomes a design and its weights, as ``designer import`` writes them, then opens.

The import runs on a worker thread (tracing a large model takes seconds); the window stays
responsive, and any failure (a source that cannot be read, an op no block expresses, a bug) is
shown in the dialog, never raised. :func:`import_to` is the whole job without a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.gui.theme import ERROR, WARNING
from designer.gui.worker import Worker

if TYPE_CHECKING:
    from designer.gui.host import Host
    from designer.interop.importer import ImportResult

SOURCE_HINT = "package.module:callable, file.py:callable, model.pt2 or model.onnx"
SHAPES_HINT = "2,3,224,224 (batch first); inputs split by ';'; ':int64' for token ids"
OK = (140, 220, 140)


@dataclass
class Imported:
    """A finished import: the result, and the files written."""

    result: ImportResult
    design: Path
    weights: Path | None  # None: the weights had no values (meta device)


def parse_examples(text: str) -> list:
    """``2,3,32,32; 2,16:int64`` -> one (shape, dtype) per input (none for empty text)."""
    from designer.interop.importer.source import parse_example

    return [parse_example(part) for part in text.split(";") if part.strip()]


def import_to(source: str, shapes: str = "", kwargs: str = "", output: str = "") -> Imported:
    """Import ``source`` as the CLI does and write the design (``output``, default beside the
    source) and its weights. Raises SourceError or ImportFailed with a message for the user."""
    from designer.interop.importer.source import (
        SourceError,
        default_output,
        import_source,
        parse_kwargs,
        write_result,
    )

    source = source.strip()
    if not source:
        raise SourceError(f"give a source: {SOURCE_HINT}")
    target = Path(output.strip()) if output.strip() else default_output(source)
    if target.suffix != ".json" or not target.parent.is_dir():
        raise SourceError(f"{target}: give a .json file in a folder that exists")
    result = import_source(source, parse_examples(shapes), parse_kwargs(kwargs))
    return Imported(result, target, write_result(result, target))


class ImportDialog:
    """The File › Import… window: fields, a Browse button for files, Import and the outcome."""

    def __init__(self, app: Host) -> None:
        self.app = app
        self.worker: Worker | None = None
        self._shown: Worker | None = None
        self._output_edited = False
        g = app.guard
        with dpg.window(
            label="Import a model", show=False, width=640, height=360, no_saved_settings=True
        ) as self.window:
            dpg.add_text("Python sources run with your permissions: import code you trust.")
            with dpg.group(horizontal=True):
                self.source = dpg.add_input_text(
                    label="source", hint=SOURCE_HINT, width=420, callback=g(self._source_typed)
                )
                dpg.add_button(label="Browse…", callback=g(lambda *_: self._browse()))
            self.shapes = dpg.add_input_text(label="input shapes", hint=SHAPES_HINT, width=420)
            self.kwargs = dpg.add_input_text(label="keyword args", hint="k=v,k2=v2", width=420)
            self.output = dpg.add_input_text(
                label="design", hint="beside the source", width=420, callback=g(self._edited)
            )
            for item in (self.source, self.shapes, self.kwargs, self.output):
                app.add_text_input(item)
            with dpg.group(horizontal=True):
                self.button = dpg.add_button(label="Import", callback=g(lambda *_: self.start()))
                dpg.add_button(label="Close", callback=g(lambda *_: self.close()))
            self.outcome = dpg.add_text("", wrap=610)
        self.files = self._file_dialog()

    def _file_dialog(self) -> int:
        with dpg.file_dialog(
            label="Model to import",
            show=False,
            modal=True,
            width=720,
            height=460,
            callback=self.app.guard(lambda s, data, u: self._picked(data)),
            cancel_callback=lambda s, a: None,
        ) as dialog:
            for extension in (".py", ".pt2", ".onnx"):
                dpg.add_file_extension(extension, color=(120, 200, 120, 255))
            dpg.add_file_extension(".*")
        return dialog

    @property
    def visible(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    @property
    def busy(self) -> bool:
        return self.worker is not None and self.worker.busy

    def open(self) -> None:
        dpg.configure_item(self.window, show=True, pos=(280, 140))

    def close(self) -> None:
        dpg.configure_item(self.window, show=False)

    def _browse(self) -> None:
        dpg.configure_item(self.files, default_path=str(Path.cwd()), show=True)

    def _picked(self, data: dict) -> None:
        path = data.get("file_path_name") or ""
        if path:
            dpg.set_value(self.source, f"{path}:" if path.endswith(".py") else path)
            self._source_typed()

    def _source_typed(self, *_) -> None:
        """Keep the design's path beside the source until the user writes one."""
        from designer.interop.importer.source import default_output

        source = dpg.get_value(self.source).strip()
        if not self._output_edited and source:
            dpg.set_value(self.output, str(default_output(source)))

    def _edited(self, *_) -> None:
        self._output_edited = bool(dpg.get_value(self.output).strip())

    def start(self) -> None:
        """Import with the dialog's fields, off the UI thread."""
        if self.busy:
            self.app.say("an import is still going", WARNING)
            return
        fields = [dpg.get_value(item) for item in (self.source, self.shapes, self.kwargs)]
        self._show("importing… (tracing the model)", WARNING)
        self.worker = Worker(import_to, *fields, dpg.get_value(self.output))

    def _show(self, text: str, colour: tuple) -> None:
        dpg.set_value(self.outcome, text)
        dpg.configure_item(self.outcome, color=colour)

    def poll(self) -> None:
        """Once the import has finished: its report and the design opened, or the error."""
        worker = self.worker
        if worker is None or worker.busy or worker is self._shown:
            return
        self._shown = worker
        if worker.error is not None:
            self._show(f"import failed: {worker.error}", ERROR)
            self.app.say("import failed (see File › Import…)", ERROR)
            return
        done: Imported = worker.result
        written = f" and {done.weights}" if done.weights else " (no weights file)"
        self._show(f"{done.result.report()}\nwrote {done.design}{written}", OK)
        self.app.unsaved_then(lambda: self._open(done))

    def _open(self, done: Imported) -> None:
        self.app.open_path(done.design)
        if done.weights is None:
            self.app.say(f"imported {done.design.name}; Run starts from fresh weights", WARNING)
            return
        try:
            self.app.use_weights(done.weights)
        except Exception as exc:  # the design is open; Run starts from fresh weights then
            self.app.say(f"opened {done.design}; its weights were not loaded: {exc}", WARNING)
            return
        self.app.say(f"imported {done.design.name} with its weights ({done.weights.name})")
