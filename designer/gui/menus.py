"""The menu bar: File (with Open recent), Edit, Block, Model, View (zoom, minimap, UI scale) and
Help. Entries show the keys of :data:`designer.gui.keys.SHORTCUTS` and call the same methods.

:class:`Menus` is mixed into :class:`designer.gui.app.App`.
"""

from __future__ import annotations

from pathlib import Path

import dearpygui.dearpygui as dpg

from designer.gui.keys import SHORTCUTS

UI_SCALES = (1.0, 1.25, 1.5, 2.0)


def keys_of(action: str) -> str:
    """The keys shown in a menu for a window method (its first chord)."""
    names = {
        "Spacebar": "Space",
        "Return": "Enter",
        "Back": "Backspace",
        "Escape": "Esc",
    }
    for shortcut in SHORTCUTS:
        if shortcut.action == action and shortcut.chords:
            ctrl, shift, key = shortcut.chords[0]
            name = next(
                (n[6:] for n in dir(dpg) if n.startswith("mvKey_") and getattr(dpg, n) == key), ""
            )
            name = names.get(name, name)
            return "+".join([*(["Ctrl"] if ctrl else []), *(["Shift"] if shift else []), name])
    return ""


EDIT = (
    ("Undo", "undo"),
    ("Redo", "redo"),
    None,
    ("Cut", "cut"),
    ("Copy", "copy"),
    ("Paste", "paste_at_mouse"),
    ("Duplicate", "duplicate_selection"),
    ("Delete", "delete_selection"),
    ("Select all", "select_all"),
    None,
    ("Rename", "start_rename"),
    ("Find…", "open_find"),
    ("Quick add block", "open_quick_add"),
    ("Auto layout", "editor_auto_layout"),
)
BLOCK = (
    ("Group into block…", "group_selection"),
    ("Ungroup", "ungroup_selection"),
    ("Expand / collapse in place (repeats too)", "toggle_expand"),
    None,
    ("Open block", "open_block"),
    ("Back to the design", "leave_block"),
)
MODEL = (
    ("Run", "run_model"),
    ("Export ONNX…", "export"),
    ("Split over devices…", "split_over_devices"),
)
VIEW = (
    ("Fit the design", "fit_all"),
    ("Fit the selection", "fit_selection"),
    ("Zoom 100%", "zoom_reset"),
)


class Menus:
    """Builds the menu bar; expects the window's actions and :attr:`settings`."""

    def _menus(self) -> None:
        with dpg.menu_bar():
            with dpg.menu(label="File"):
                self._entry("New", "new")
                self._entry("Open…", "open")
                self._entry("Import…", "import_model")
                self.recent_menu = dpg.add_menu(label="Open recent")
                self._entry("Save", "save")
                self._entry("Save As…", "save_as")
                dpg.add_separator()
                self._entry("Quit", "request_quit")
            for label, entries in (("Edit", EDIT), ("Block", BLOCK), ("Model", MODEL)):
                with dpg.menu(label=label):
                    self._entries(entries)
            with dpg.menu(label="View"):
                self._view_menu()
            with dpg.menu(label="Help"):
                self._entry("Keyboard shortcuts", "show_help")
        self.refresh_recent()

    def _entries(self, entries) -> None:
        for entry in entries:
            if entry is None:
                dpg.add_separator()
            else:
                self._entry(*entry)

    def _entry(self, label: str, action: str) -> int:
        return dpg.add_menu_item(
            label=label,
            shortcut=keys_of(action),
            callback=self.guard(lambda *_: getattr(self, action)()),
        )

    def _view_menu(self) -> None:
        g = self.guard
        self._entries(VIEW)
        dpg.add_separator()
        self.minimap_item = dpg.add_menu_item(
            label="Minimap",
            check=True,
            default_value=self.minimap_on,
            callback=g(lambda s, on, u: self.show_minimap(on)),
        )
        dpg.add_menu_item(
            label="Cost on nodes",
            check=True,
            callback=g(lambda s, on, u: self.canvas.show_cost(on)),
        )
        with dpg.menu(label="UI scale"):
            self.scale_items = {
                scale: dpg.add_menu_item(
                    label=f"{scale:.0%}",
                    check=True,
                    default_value=scale == self.ui_scale,
                    callback=g(lambda s, a, scale: self.set_ui_scale(scale)),
                    user_data=scale,
                )
                for scale in UI_SCALES
            }

    def refresh_recent(self) -> None:
        """Rebuild File › Open recent from the remembered list."""
        dpg.delete_item(self.recent_menu, children_only=True)
        recent = self.settings.recent()
        for path in recent:
            dpg.add_menu_item(
                label=path.name,
                parent=self.recent_menu,
                user_data=path,
                callback=self.guard(lambda s, a, p: self.open_recent(Path(p))),
            )
            with dpg.tooltip(parent=dpg.last_item()):
                dpg.add_text(str(path))
        if not recent:
            dpg.add_menu_item(label="(none yet)", parent=self.recent_menu, enabled=False)

    def set_ui_scale(self, scale: float) -> None:
        """Make every text and widget larger or smaller (high-DPI screens)."""
        self.ui_scale = scale
        dpg.set_global_font_scale(scale)
        for value, item in self.scale_items.items():
            dpg.set_value(item, value == scale)
        self.settings.set("ui_scale", scale)
