"""The window's layout: menus, palette, canvas, the side tabs and the status bar.

:class:`WindowLayout` is mixed into :class:`designer.gui.app.App`; :meth:`WindowLayout._build` makes
every item and panel once and keeps them as attributes of the window. Menu entries call the
window's actions (:mod:`designer.gui.actions`), each through :meth:`App.guard`.
"""

from __future__ import annotations

from collections.abc import Callable

import dearpygui.dearpygui as dpg

from designer.gui.dialogs import ContextMenu, FileDialogs, Question, QuickAdd
from designer.gui.inspector import Inspector
from designer.gui.issues import IssuesPanel
from designer.gui.palette import PAYLOAD, Palette
from designer.gui.panels import Breadcrumb, CodePanel, CostPanel, ExportDialog, GroupDialog
from designer.gui.runpanel import RunPanel
from designer.gui.theme import MUTED
from designer.gui.trainpanel import TrainPanel
from designer.gui.viewmodel import Canvas

PALETTE_WIDTH = 210
SIDE_WIDTH = 330
STATUS_HEIGHT = 30


class WindowLayout:
    """Builds the window; expects the attributes and actions :class:`~designer.gui.app.App` has."""

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
