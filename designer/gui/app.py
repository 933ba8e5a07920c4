"""The editor window: palette, canvas, inspector, issues list and status bar around one Editor.

Callbacks are one line each and call an editor command (or a small view helper that works out a
position or a selection first). Each is wrapped by :meth:`App.guard`: a refused command shows its
reason in the status bar, an unexpected exception is logged and shown there too, and the window
stays open. DearPyGui callbacks run in :meth:`App.frame`, right after the frame that saw the input,
and :meth:`App.tick` redraws what changed before the next frame: an edit shows the frame after.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.core.fileformat import DesignFileError
from designer.core.graph import DesignError
from designer.edit.editor import Editor
from designer.edit.recovery import Autosaver, default_folder
from designer.gui.actions import Actions
from designer.gui.gestures import Gestures
from designer.gui.layout import WindowLayout
from designer.gui.present import status_line, window_title
from designer.gui.theme import ERROR, WARNING, Themes, load_font, load_mono_font

if TYPE_CHECKING:
    from designer.run.session import RunResult

log = logging.getLogger("designer.gui")
LOG_FILE: list[Path | None] = [None]  # where errors are logged, once main() has set it up

Point = tuple[float, float]


class App(Actions, Gestures, WindowLayout):
    """One editor window. Build it, then call :meth:`run` (or :meth:`frame` from a test driver).

    Its panels see it only as a :class:`~designer.gui.host.Host`. The window is built by
    :class:`~designer.gui.layout.WindowLayout`, takes input through
    :class:`~designer.gui.gestures.Gestures` and acts through
    :class:`~designer.gui.actions.Actions`.
    """

    def __init__(
        self,
        editor: Editor,
        *,
        size: tuple[int, int] = (1600, 1000),
        vsync: bool = True,
        recovery: Path | None = None,
        check_device: bool = True,
    ) -> None:
        self.editor = editor
        self.recovery_folder = recovery or default_folder()
        if editor.autosaver is None:
            editor.autosaver = Autosaver(self.recovery_folder)
        self.text_inputs: set[int] = set()
        self.device = "checking…" if check_device else "not checked"
        self.running = True
        self._select_next: list[str] | None = None
        self._pressed_at: Point = (0.0, 0.0)
        self._shown: dict[str, object] = {}
        self._last_autosave_check = 0.0
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        self.font = load_font()
        self.mono_font = load_mono_font()
        self.themes = Themes()
        dpg.create_viewport(
            title=window_title(editor),
            width=size[0],
            height=size[1],
            x_pos=0,
            y_pos=0,
            vsync=vsync,
            disable_close=True,
        )
        self._build()
        dpg.set_exit_callback(self.guard(lambda s, a, u: self.request_quit()))
        dpg.setup_dearpygui()
        dpg.show_viewport()
        dpg.set_primary_window(self.window, True)
        if check_device:
            threading.Thread(target=self._check_device, daemon=True).start()
        self._offer_recovery()

    # -- safety net -------------------------------------------------------------------------------
    def guard(self, fn: Callable) -> Callable:
        """Wrap a DearPyGui callback: refusals and errors go to the status bar, never a crash."""

        @functools.wraps(fn)
        def guarded(sender=None, app_data=None, user_data=None):
            try:
                return fn(sender, app_data, user_data)
            except (DesignError, DesignFileError) as exc:
                self.say(str(exc), WARNING)
                self.inspector.refresh()
            except Exception as exc:
                log.exception("error in callback %s", getattr(fn, "__name__", fn))
                self.fail(exc)

        return guarded

    def fail(self, exc: Exception) -> None:
        """Report a bug of ours in the status bar; the canvas is redrawn from the design."""
        where = f"details in {LOG_FILE[0]}" if LOG_FILE[0] else "details in the log"
        self.say(f"internal error: {type(exc).__name__}: {exc} ({where})", ERROR)
        self.canvas.redraw_all()

    def say(self, text: str, colour: tuple = (230, 230, 230)) -> None:
        """Show a message in the status bar."""
        dpg.set_value(self.message, text)
        dpg.configure_item(self.message, color=colour)

    def add_text_input(self, item: int) -> None:
        self.text_inputs.add(item)

    # -- the host's view of the canvas and the tabs -----------------------------------------------
    def selected_nodes(self) -> list[str]:
        return self.canvas.selection

    def select_after_edit(self, node_ids: list[str]) -> None:
        self._select_next = node_ids

    def node_items(self) -> dict[str, int]:
        return self.canvas.ids.node_item

    def last_run(self) -> RunResult | None:
        return self.run_panel.worker.result

    def run_in_progress(self) -> bool:
        return self.run_panel.worker.busy

    def refresh_costs(self) -> None:
        self.costs.refresh()

    def use_weights(self, path: Path) -> None:
        self.run_panel.adopt_weights(path)
        self.export_dialog.use_weights(path)

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> int:
        """Render until the window is closed; returns an exit status."""
        while self.running and dpg.is_dearpygui_running():
            self.frame()
        self.close()
        return 0

    def frame(self) -> None:
        """Update what changed, render one frame, then run the callbacks its input caused."""
        self.tick()
        dpg.render_dearpygui_frame()
        jobs = dpg.get_callback_queue()
        if jobs:
            dpg.run_callbacks(jobs)

    def tick(self) -> None:
        """Redraw what the last callbacks changed; autosave when due."""
        try:
            if self.canvas.sync():
                self._after_edit()
            now = time.monotonic()
            if now - self._last_autosave_check >= 1.0:
                self._last_autosave_check = now
                self.editor.autosave_if_due(now)
            self._show("status", self.status, status_line(self.editor, self.device))
            self.breadcrumb.poll()
            self.palette.sync()
            self.run_panel.poll()
            self.train_panel.poll()
            self.export_dialog.poll()
            self.code.poll()
            if dpg.get_value(self.tabs) == self.cost_tab:
                self.costs.poll()
            title = window_title(self.editor)
            if self._shown.get("title") != title:
                self._shown["title"] = title
                dpg.set_viewport_title(title)
        except Exception as exc:  # never close the window over a redraw problem
            log.exception("error while redrawing")
            self.fail(exc)

    def _after_edit(self) -> None:
        if self._select_next is not None:
            self.select(self._select_next)
            self._select_next = None
        elif self.inspector.node not in (None, *self.editor.design.node_ids()):
            self.inspector.show([])
        else:
            self.inspector.refresh()
        self.issues.show(self.editor.report.issues)

    def _show(self, key: str, item: int, text: str) -> None:
        if self._shown.get(key) != text:
            self._shown[key] = text
            dpg.set_value(item, text)

    def close(self) -> None:
        """End the session cleanly (the recovery file goes) and free DearPyGui."""
        self.editor.close()
        dpg.destroy_context()

    # -- input ------------------------------------------------------------------------------------


def log_to_file() -> Path:
    """Send the editor's log (callback errors with their traceback) to a file; returns it."""
    folder = default_folder().parent
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gui.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return path


def main(path: str | None = None, **options) -> int:
    """Open the editor on ``path`` (a missing file starts an empty design that saves there)."""
    LOG_FILE[0] = log_to_file()
    editor = Editor()
    if path is not None:
        if Path(path).exists():
            editor.open(path)
        else:
            editor.new(Path(path).stem, path)
    return App(editor, **options).run()
