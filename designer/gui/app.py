"""The editor window: palette, canvas, inspector, issues list and status bar around one Editor.

Callbacks are one line each and call an editor command (or a small view helper that works out a
position or a selection first). Each is wrapped by :meth:`App.guard`: a refused command shows its
reason in the status bar, an unexpected exception is logged and shown there too, and the window
stays open. DearPyGui callbacks run in :meth:`App.frame`, right after the frame that saw the input,
and :meth:`App.tick` redraws what changed before the next frame: an edit shows the frame after.
:meth:`App.run` draws frames only while something happens (:mod:`designer.gui.pacing`).
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
from designer.edit.state import Settings
from designer.gui.actions import Actions
from designer.gui.fileactions import FileActions
from designer.gui.gestures import Gestures
from designer.gui.importdialog import ImportDialog
from designer.gui.keys import KeyBatch
from designer.gui.layout import SIDE_WIDTH, WindowLayout
from designer.gui.menus import Menus
from designer.gui.pacing import Pacer, glfw_waker
from designer.gui.placedialog import PlacementLegend, SplitDialog
from designer.gui.present import status_line, window_title
from designer.gui.theme import ERROR, WARNING, Themes, load_font, load_mono_font
from designer.gui.viewactions import ViewActions

if TYPE_CHECKING:
    from designer.run.session import RunResult

log = logging.getLogger("designer.gui")
LOG_FILE: list[Path | None] = [None]  # where errors are logged, once main() has set it up
REPEAT = 5.0  # seconds during which the same internal error is neither logged nor redrawn again

Point = tuple[float, float]


class App(Actions, FileActions, ViewActions, Gestures, Menus, WindowLayout):
    """One editor window. Build it, then call :meth:`run` (or :meth:`frame` from a test driver).

    Its panels see it only as a :class:`~designer.gui.host.Host`. The window is built by
    :class:`~designer.gui.layout.WindowLayout` and :class:`~designer.gui.menus.Menus`, takes input
    through :class:`~designer.gui.gestures.Gestures` and acts through the action mixins.
    """

    def __init__(
        self,
        editor: Editor,
        *,
        size: tuple[int, int] = (1600, 1000),
        vsync: bool = True,
        recovery: Path | None = None,
        check_device: bool = True,
        settings: Settings | None = None,
    ) -> None:
        self.editor = editor
        self.recovery_folder = recovery or default_folder()
        if editor.autosaver is None:
            editor.autosaver = Autosaver(self.recovery_folder)
        self.settings = settings or Settings(self.recovery_folder.parent / "settings.json")
        self.minimap_on = self.settings.get("minimap", True)
        self.ui_scale = self.settings.get("ui_scale", 1.0)
        self.side_width = SIDE_WIDTH
        self._resizing: tuple[float, int] | None = None  # the side panel's drag: start x, width
        self.text_inputs: set[int] = set()
        self.device = "checking…" if check_device else "not checked"
        self.running = True
        self.keys = KeyBatch()
        self.pacer = Pacer(glfw_waker())
        self._chord = None
        self._select_next: list[str] | None = None
        self._pressed_at: Point = (0.0, 0.0)
        self._wire_from: tuple[str, str, bool] | None = None
        self._minimap_drag = False
        self._shown: dict[str, object] = {}
        self._last_autosave_check = 0.0
        self._last_failure: tuple[str, float] = ("", 0.0)
        self._waiting = False
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
        self.import_dialog = ImportDialog(self)
        self.split_dialog, self.legend = SplitDialog(self), PlacementLegend()
        dpg.set_exit_callback(self.guard(lambda s, a, u: self.request_quit()))
        dpg.setup_dearpygui()
        dpg.show_viewport()
        dpg.set_primary_window(self.window, True)
        if self.ui_scale != 1.0:
            self.set_ui_scale(self.ui_scale)
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
                self.fail(exc, getattr(fn, "__name__", str(fn)))

        return guarded

    def fail(self, exc: Exception, where: str = "redraw") -> None:
        """Report a bug of ours in the status bar; the canvas is redrawn from the design.

        The same error again within :data:`REPEAT` seconds is not logged or redrawn again, so
        that a problem met every frame cannot flood the log or keep the window busy."""
        key, now = f"{where}:{type(exc).__name__}:{exc}", time.monotonic()
        if key == self._last_failure[0] and now - self._last_failure[1] < REPEAT:
            return
        self._last_failure = (key, now)
        log.exception("error in %s", where, exc_info=exc)
        place = f"details in {LOG_FILE[0]}" if LOG_FILE[0] else "details in the log"
        self.say(f"internal error: {type(exc).__name__}: {exc} ({place})", ERROR)
        self.canvas.redraw_all()

    def say(self, text: str, colour: tuple = (230, 230, 230)) -> None:
        """Show a message in the status bar (it expires; problems are also logged)."""
        self.status_line.say(text, colour)

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

    def use_weights(self, path: Path) -> int:
        count = self.run_panel.adopt_weights(path)
        self.export_dialog.use_weights(path)
        return count

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> int:
        """Render until the window is closed (idle: only when woken); returns an exit status."""
        while self.running and dpg.is_dearpygui_running():
            self.frame(paced=True)
        self.pacer.stop()
        self.close()
        return 0

    def frame(self, paced: bool = False) -> None:
        """Update what changed, render one frame, then run the callbacks its input caused.

        ``paced``: the frame may first wait for input (or a wake-up) when nothing is going on.
        """
        if self.tick() or self.camera.settling:
            self.pacer.touch()
        wait = paced and self.pacer.may_wait(self.working(), self.due())
        if wait != self._waiting:
            self._waiting = wait
            dpg.configure_app(wait_for_input=wait)
        dpg.render_dearpygui_frame()
        self._safely(self.camera.after_frame)
        jobs = dpg.get_callback_queue()
        if jobs:
            self.pacer.touch()
            dpg.run_callbacks(jobs)
        self.dispatch_keys()

    def due(self) -> float | None:
        """The next time something must be shown or done: a message expires, an autosave."""
        times = [t for t in (self.status_line.due(), self.autosave_at()) if t is not None]
        return min(times) if times else None

    def autosave_at(self) -> float | None:
        due = self.editor.autosave_due()
        return None if due is None else max(due, self._last_autosave_check + 1.0)

    def working(self) -> bool:
        """True while a worker reports progress (frames keep coming, a few a second)."""
        train = self.train_panel
        helpers = (train.shapes, train.probing)
        return bool(
            self.run_panel.worker.busy
            or self.export_dialog.busy
            or self.import_dialog.busy
            or self.code.busy
            or self.device == "checking…"
            or (train.job is not None and train.job.state in ("running", "stopping"))
            or any(h is not None and h.busy for h in helpers)
        )

    def tick(self) -> bool:
        """Redraw what the last callbacks changed; autosave when due. True if the canvas changed.

        Each part is guarded on its own: one that fails cannot stop the others (autosave)."""
        changed = bool(self._safely(self._sync_canvas))
        self._safely(self._autosave)
        self._safely(self._poll_panels)
        return changed

    def _safely(self, part: Callable[[], object]) -> object:
        try:
            return part()
        except Exception as exc:  # never close the window over a redraw problem
            self.fail(exc, getattr(part, "__name__", "redraw"))
            return None

    def _sync_canvas(self) -> bool:
        if not self.canvas.sync():
            return False
        self.camera.after_sync()
        self._after_edit()
        return True

    def _autosave(self) -> None:
        now = time.monotonic()
        if now - self._last_autosave_check >= 1.0:
            self._last_autosave_check = now
            self.editor.autosave_if_due(now)

    def _poll_panels(self) -> None:
        self.status_line.poll()
        key = (self.editor.version, self.editor.scope_names, self.device)
        if self._shown.get("status-key") != key:
            self._shown["status-key"] = key
            self._show("status", self.status, status_line(self.editor, self.device))
        self.breadcrumb.poll()
        self.palette.sync()
        self.run_panel.poll()
        self.train_panel.poll()
        self.export_dialog.poll()
        self.import_dialog.poll()
        self.code.poll()
        if dpg.get_value(self.tabs) == self.cost_tab:
            self.costs.poll()
        self.camera.poll(self.minimap_on)
        self.legend.poll(self.canvas.placement, self.camera.area())
        self.resize_side()
        self.drag_minimap()
        title = window_title(self.editor)
        if self._shown.get("title") != title:
            self._shown["title"] = title
            dpg.set_viewport_title(title)

    def _after_edit(self) -> None:
        if self._select_next is not None:
            self.select(self._select_next)
            self._select_next = None
        elif self.inspector.nodes != self.canvas.selection:
            self.inspector.show(self.canvas.selection)
        else:
            self.inspector.refresh()
        self.issues.show(self.editor.report.issues)
        scope = self.editor.scope_names
        if self._shown.get("scope", ()) != scope:
            self._shown["scope"] = scope
            if not scope:
                self.say(f"editing the design {self.editor.root.name}")

    def _show(self, key: str, item: int, text: str) -> None:
        if self._shown.get(key) != text:
            self._shown[key] = text
            dpg.set_value(item, text)

    def close(self) -> None:
        """End the session cleanly (the recovery file goes) and free DearPyGui."""
        self.editor.close()
        dpg.destroy_context()


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
    app = App(editor, **options)
    if path is not None and Path(path).exists():
        app.settings.remember(path)
        app.refresh_recent()
    return app.run()
