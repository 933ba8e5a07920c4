"""The window's layout: menus, palette, canvas, the resizable side tabs and the status bar.

:class:`WindowLayout` is mixed into :class:`designer.gui.app.App`; :meth:`WindowLayout._build` makes
every item and panel once and keeps them as attributes of the window. Menus are
:mod:`designer.gui.menus`'; their entries call the window's actions through :meth:`App.guard`.
The bar between the canvas and the side tabs can be dragged to resize them.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from designer.gui.camera import Camera
from designer.gui.dialogs import ContextMenu, FileDialogs, Question, QuickAdd
from designer.gui.exportdialog import ExportDialog
from designer.gui.find import FindDialog
from designer.gui.helpwindow import HelpWindow
from designer.gui.inspector import Inspector
from designer.gui.issues import IssuesPanel
from designer.gui.palette import PAYLOAD, Palette
from designer.gui.panels import Breadcrumb, CodePanel, CostPanel, GroupDialog
from designer.gui.runpanel import RunPanel
from designer.gui.status import StatusLine
from designer.gui.theme import MUTED
from designer.gui.trainpanel import TrainPanel
from designer.gui.viewmodel import Canvas

PALETTE_WIDTH = 210
SIDE_WIDTH = 330
SIDE_LIMITS = (240, 900)
SPLITTER = 5
SPACING = 8  # DearPyGui's item spacing between the parts of a row
STATUS_HEIGHT = 30


class WindowLayout:
    """Builds the window; expects the attributes and actions :class:`~designer.gui.app.App` has."""

    def _build(self) -> None:
        with dpg.window(tag="designer-main", no_scrollbar=True) as self.window:
            self._menus()
            with dpg.group(horizontal=True):
                with dpg.child_window(width=PALETTE_WIDTH, height=-STATUS_HEIGHT) as palette:
                    self.palette = Palette(self, palette)
                with dpg.group() as centre:
                    self.breadcrumb = Breadcrumb(self, centre)
                    self._canvas_window()
                self.splitter = dpg.add_button(label="", width=SPLITTER, height=-STATUS_HEIGHT)
                with dpg.tooltip(parent=self.splitter):
                    dpg.add_text("drag to resize the side panel")
                with dpg.child_window(width=-1, height=-STATUS_HEIGHT, border=False):
                    self._side_tabs()
            with dpg.group(horizontal=True):
                self.message = dpg.add_text("Ready.")
                dpg.add_spacer(width=24)
                self.status = dpg.add_text("", color=MUTED)
        dpg.bind_item_theme(self.node_editor, self.themes.editor)
        self.canvas = Canvas(self.editor, self.node_editor, self.themes)
        self.camera = Camera(self.editor, self.canvas, self.canvas_window, self.editor_group)
        self.inspector = Inspector(self, self.inspector_parent)
        self.status_line = StatusLine(self.message, self.issues.log)
        self.quick_add = QuickAdd(self)
        self.context_menu = ContextMenu(self)
        self.question = Question(self)
        self.files = FileDialogs(self)
        self.export_dialog = ExportDialog(self)
        self.group_dialog = GroupDialog(self)
        self.find = FindDialog(self)
        self.help = HelpWindow()
        self._handlers()

    def _canvas_window(self) -> None:
        with (
            dpg.child_window(
                width=-self.side_width - SPLITTER - 2 * SPACING,
                height=-STATUS_HEIGHT,
                payload_type=PAYLOAD,
                drop_callback=self.guard(lambda s, name, u: self.add_block(name, self.mouse())),
                no_scrollbar=True,
                border=False,
            ) as self.canvas_window,
            dpg.group() as self.editor_group,  # hidden in the overview (the editor cannot be)
            dpg.node_editor(
                callback=self.guard(lambda s, a, u: self.editor.connect(*self.canvas.wire_for(a))),
                delink_callback=self.guard(
                    lambda s, a, u: self.editor.disconnect(*self.canvas.wire_of_link(a))
                ),
                minimap=False,
                width=-1,
                height=-1,
            ) as self.node_editor,
        ):
            pass

    def _side_tabs(self) -> None:
        with dpg.tab_bar() as self.tabs:
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

    def _handlers(self) -> None:
        g = self.guard
        left, right = dpg.mvMouseButton_Left, dpg.mvMouseButton_Right
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=g(lambda s, key, u: self.keys.press(key)))
            dpg.add_key_release_handler(callback=g(lambda s, key, u: self.keys.release(key)))
            dpg.add_mouse_wheel_handler(callback=g(lambda s, notches, u: self.on_wheel(notches)))
            dpg.add_mouse_release_handler(button=left, callback=g(lambda *_: self.on_release()))
            dpg.add_mouse_click_handler(button=left, callback=g(lambda *_: self.on_press()))
            dpg.add_mouse_double_click_handler(
                button=left, callback=g(lambda *_: self.on_double_click())
            )
            dpg.add_mouse_click_handler(button=right, callback=g(lambda *_: self.on_right_click()))
            dpg.add_mouse_move_handler(callback=lambda *_: None)  # input: keeps frames coming
            dpg.add_mouse_release_handler(callback=lambda *_: None)

    def resize_side(self) -> None:
        """While the bar between canvas and side tabs is dragged, follow the pointer."""
        if not dpg.is_item_active(self.splitter):
            self._resizing = None
            return
        x = dpg.get_mouse_pos(local=False)[0]
        if self._resizing is None:
            self._resizing = (x, self.side_width)
        start_x, start_width = self._resizing
        width = int(min(SIDE_LIMITS[1], max(SIDE_LIMITS[0], start_width + start_x - x)))
        if width != self.side_width:
            self.side_width = width
            dpg.configure_item(self.canvas_window, width=-width - SPLITTER - 2 * SPACING)
