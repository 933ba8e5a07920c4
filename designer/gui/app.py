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

import dearpygui.dearpygui as dpg

from designer.core.fileformat import DesignFileError
from designer.core.graph import DesignError
from designer.edit.editor import Editor
from designer.edit.recovery import Autosaver, default_folder
from designer.gui.actions import SHORTCUTS, WHILE_TYPING, Actions
from designer.gui.dialogs import ContextMenu, FileDialogs, Question, QuickAdd
from designer.gui.inspector import Inspector
from designer.gui.issues import IssuesPanel
from designer.gui.palette import PAYLOAD, Palette
from designer.gui.panels import Breadcrumb, CodePanel, CostPanel, ExportDialog, GroupDialog
from designer.gui.present import status_line, window_title
from designer.gui.runpanel import RunPanel
from designer.gui.theme import ERROR, MUTED, WARNING, Themes, load_font, load_mono_font
from designer.gui.trainpanel import TrainPanel
from designer.gui.viewmodel import Canvas

log = logging.getLogger("designer.gui")
LOG_FILE: list[Path | None] = [None]  # where errors are logged, once main() has set it up

PALETTE_WIDTH = 210
SIDE_WIDTH = 330
STATUS_HEIGHT = 30
Point = tuple[float, float]


class App(Actions):
    """One editor window. Build it, then call :meth:`run` (or :meth:`frame` from a test driver)."""

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

    # -- building ---------------------------------------------------------------------------------
    def _build(self) -> None:
        with dpg.window(tag="designer-main", no_scrollbar=True) as self.window:
            self._menus()
            with dpg.group(horizontal=True):
                with dpg.child_window(width=PALETTE_WIDTH, height=-STATUS_HEIGHT) as palette:
                    self.palette = Palette(self, palette)
                with dpg.group(width=-SIDE_WIDTH) as centre:
                    self.breadcrumb = Breadcrumb(self, centre)
                with (
                    dpg.child_window(
                        parent=centre,
                        width=-SIDE_WIDTH,
                        height=-STATUS_HEIGHT,
                        payload_type=PAYLOAD,
                        drop_callback=self.guard(
                            lambda s, name, u: self.add_block(name, self.mouse())
                        ),
                        no_scrollbar=True,
                        border=False,
                    ) as self.canvas_window,
                    dpg.node_editor(
                        callback=self.guard(
                            lambda s, a, u: self.editor.connect(*self.canvas.wire_for(a))
                        ),
                        delink_callback=self.guard(
                            lambda s, a, u: self.editor.disconnect(*self.canvas.wire_of_link(a))
                        ),
                        minimap=False,
                        minimap_location=dpg.mvNodeMiniMap_Location_BottomRight,
                        width=-1,
                        height=-1,
                    ) as self.node_editor,
                ):
                    pass
                with (
                    dpg.child_window(width=-1, height=-STATUS_HEIGHT, border=False),
                    dpg.tab_bar() as self.tabs,
                ):
                    with dpg.tab(label="Inspect") as self.inspect_tab:
                        with dpg.child_window(height=-260) as inspector:
                            self.inspector_parent = inspector
                        dpg.add_text("Issues", color=MUTED)
                        with dpg.child_window(height=-1) as issues:
                            self.issues = IssuesPanel(self, issues)
                    with dpg.tab(label="Run") as self.run_tab:
                        self.run_panel = RunPanel(self, self.run_tab)
                    with dpg.tab(label="Cost") as self.cost_tab:
                        self.costs = CostPanel(self, self.cost_tab)
                    with dpg.tab(label="Code") as self.code_tab:
                        self.code = CodePanel(self, self.code_tab)
                    with dpg.tab(label="Train") as self.train_tab:
                        self.train_panel = TrainPanel(self, self.train_tab)
            with dpg.group(horizontal=True):
                self.message = dpg.add_text("Ready.")
                dpg.add_spacer(width=24)
                self.status = dpg.add_text("", color=MUTED)
        dpg.bind_item_theme(self.node_editor, self.themes.editor)
        self.canvas = Canvas(self.editor, self.node_editor, self.themes)
        self.inspector = Inspector(self, self.inspector_parent)
        self.quick_add = QuickAdd(self)
        self.context_menu = ContextMenu(self)
        self.question = Question(self)
        self.files = FileDialogs(self)
        self.export_dialog = ExportDialog(self)
        self.group_dialog = GroupDialog(self)
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=self.guard(lambda s, key, u: self.on_key(key)))
            dpg.add_mouse_release_handler(
                button=dpg.mvMouseButton_Left,
                callback=self.guard(lambda s, a, u: self.on_release()),
            )
            dpg.add_mouse_click_handler(
                button=dpg.mvMouseButton_Left,
                callback=self.guard(lambda s, a, u: self.on_press()),
            )
            dpg.add_mouse_click_handler(
                button=dpg.mvMouseButton_Right,
                callback=self.guard(lambda s, a, u: self.on_right_click()),
            )

    def _menus(self) -> None:
        g = self.guard
        with dpg.menu_bar():
            with dpg.menu(label="File"):
                dpg.add_menu_item(label="New", shortcut="Ctrl+N", callback=g(lambda *_: self.new()))
                dpg.add_menu_item(
                    label="Open…", shortcut="Ctrl+O", callback=g(lambda *_: self.open())
                )
                dpg.add_menu_item(
                    label="Save", shortcut="Ctrl+S", callback=g(lambda *_: self.save())
                )
                dpg.add_menu_item(
                    label="Save As…", shortcut="Ctrl+Shift+S", callback=g(lambda *_: self.save_as())
                )
                dpg.add_separator()
                dpg.add_menu_item(
                    label="Quit", shortcut="Ctrl+Q", callback=g(lambda *_: self.request_quit())
                )
            with dpg.menu(label="Edit"):
                for label, keys, action in self._edit_actions():
                    dpg.add_menu_item(label=label, shortcut=keys, callback=g(action))
            with dpg.menu(label="Block"):
                for label, keys, action in self._block_actions():
                    dpg.add_menu_item(label=label, shortcut=keys, callback=g(action))
            with dpg.menu(label="Model"):
                dpg.add_menu_item(
                    label="Run", shortcut="F5", callback=g(lambda *_: self.run_model())
                )
                dpg.add_menu_item(
                    label="Export ONNX…", shortcut="Ctrl+E", callback=g(lambda *_: self.export())
                )
            with dpg.menu(label="View"):
                dpg.add_menu_item(
                    label="Minimap",
                    check=True,
                    callback=g(lambda s, on, u: self.show_minimap(on)),
                )
                dpg.add_menu_item(
                    label="Cost on nodes",
                    check=True,
                    callback=g(lambda s, on, u: self.canvas.show_cost(on)),
                )

    def _edit_actions(self) -> list[tuple[str, str, Callable]]:
        return [
            ("Undo", "Ctrl+Z", lambda *_: self.undo()),
            ("Redo", "Ctrl+Shift+Z / Ctrl+Y", lambda *_: self.redo()),
            ("Cut", "Ctrl+X", lambda *_: self.cut()),
            ("Copy", "Ctrl+C", lambda *_: self.copy()),
            ("Paste", "Ctrl+V", lambda *_: self.paste()),
            ("Duplicate", "Ctrl+D", lambda *_: self.duplicate(self.canvas.selection)),
            ("Delete", "Del", lambda *_: self.delete_selection()),
            ("Rename", "F2", lambda *_: self.start_rename()),
            ("Quick add block", "Space", lambda *_: self.open_quick_add()),
            ("Auto layout", "Ctrl+L", lambda *_: self.editor_auto_layout()),
        ]

    def _block_actions(self) -> list[tuple[str, str, Callable]]:
        return [
            ("Group into block…", "Ctrl+G", lambda *_: self.group_selection()),
            ("Ungroup", "Ctrl+Shift+G", lambda *_: self.ungroup_selection()),
            ("Open block", "Ctrl+Enter", lambda *_: self.open_block()),
            ("Back to the design", "Ctrl+Backspace", lambda *_: self.editor.leave(0)),
        ]

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
    def typing(self) -> bool:
        """True while a text field has the keyboard."""
        self.text_inputs = {i for i in self.text_inputs if dpg.does_item_exist(i)}
        return any(dpg.is_item_active(i) for i in self.text_inputs)

    def on_key(self, key: int) -> None:
        """Keyboard shortcuts (see the README); ignored while a dialog is open."""
        if self.question.visible or self.files.visible or self.group_dialog.visible:
            return
        if self.quick_add.visible:
            if key in (dpg.mvKey_Return, dpg.mvKey_NumPadEnter):
                self.quick_add.accept()
            elif key == dpg.mvKey_Escape:
                self.quick_add.close()
            return
        ctrl = dpg.is_key_down(dpg.mvKey_LControl) or dpg.is_key_down(dpg.mvKey_RControl)
        shift = dpg.is_key_down(dpg.mvKey_LShift) or dpg.is_key_down(dpg.mvKey_RShift)
        action = SHORTCUTS.get((ctrl, shift, key))
        if action is None or (self.typing() and action not in WHILE_TYPING):
            return
        getattr(self, action)()

    def on_release(self) -> None:
        """After a click or drag in the canvas: record moves as one step, then the selection."""
        if not self.over_canvas():
            return
        moved = self.canvas.dragged()
        if moved:
            self.editor.move(moved)
        x, y = self.mouse_screen()
        dragged = abs(x - self._pressed_at[0]) + abs(y - self._pressed_at[1]) > 4
        if self.canvas.refresh_selection(dragged):
            self.inspector.show(self.canvas.selection)

    def on_press(self) -> None:
        self._pressed_at = self.mouse_screen()

    def on_right_click(self) -> None:
        if self.over_canvas():
            screen = self.mouse_screen()
            self.context_menu.open(screen, self.mouse(), self.canvas.node_at(screen))

    def over_canvas(self) -> bool:
        state = dpg.get_item_state(self.canvas_window)
        (x0, y0), (w, h) = state["pos"], state["rect_size"]
        x, y = self.mouse_screen()
        return x0 <= x < x0 + w and y0 <= y < y0 + h

    def mouse_screen(self) -> Point:
        x, y = dpg.get_mouse_pos(local=False)
        return (x, y)

    def mouse(self) -> Point:
        """The design position under the mouse."""
        state = dpg.get_item_state(self.canvas_window)
        fallback = (state["pos"][0] + 16, state["pos"][1] + 16)
        return self.canvas.screen_to_design(self.mouse_screen(), fallback)

    def canvas_centre(self) -> Point:
        state = dpg.get_item_state(self.canvas_window)
        return (
            state["pos"][0] + state["rect_size"][0] / 2,
            state["pos"][1] + state["rect_size"][1] / 2,
        )


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
