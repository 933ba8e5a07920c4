"""What the window's view keys and menus do: fit, zoom, find, help, the minimap, Escape.

:class:`ViewActions` is mixed into :class:`designer.gui.app.App`; the view itself is the
:class:`~designer.gui.camera.Camera`'s.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from designer.gui.theme import WARNING


class ViewActions:
    """View actions; expects the attributes :class:`~designer.gui.app.App` sets."""

    def fit_all(self) -> None:
        """F: the whole design on the canvas, as large as it fits (up to 100%)."""
        self.camera.fit()

    def fit_selection(self) -> None:
        """Shift+F: the selected nodes on the canvas."""
        if not self.canvas.selection:
            self.say("select nodes to fit them (F fits the whole design)", WARNING)
            return
        self.camera.fit(self.canvas.selection)

    def zoom_reset(self) -> None:
        """100%, about the selection if any, else about the middle of the canvas."""
        chosen = self.canvas.selection
        if chosen:
            self.camera.centre_on(chosen[0], 1.0)
        else:
            self.camera.zoom_to(1.0)

    def open_find(self) -> None:
        (x, y), (w, _) = self.camera.area()
        self.find.open((x + w - 360, y + 10))

    def show_help(self) -> None:
        self.help.open()

    def show_minimap(self, on: bool) -> None:
        """The overview in the canvas's corner (remembered between sessions)."""
        self.minimap_on = on
        dpg.set_value(self.minimap_item, on)
        self.settings.set("minimap", on)

    def escape(self) -> None:
        """Close the topmost menu or popup; with none open, clear the selection."""
        for popup in (self.context_menu, self.quick_add, self.find, self.help, self.export_dialog):
            if popup.visible:
                popup.close()
                return
        if self.group_dialog.visible:
            self.group_dialog.close()
        elif self.split_dialog.visible:
            self.split_dialog.close()
        elif self.import_dialog.visible:
            self.import_dialog.close()
        elif self.files.visible:
            self.files.close()
        elif self.canvas.selection:
            self.select([])
