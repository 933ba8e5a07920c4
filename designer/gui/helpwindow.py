"""Help › Keyboard shortcuts (F1): the key table of :mod:`designer.gui.keys`, and a few words on
how the canvas works."""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from designer.core.version import __version__
from designer.gui.keys import key_table
from designer.gui.theme import MUTED

CANVAS = (
    "The mouse wheel zooms about the pointer. Zoomed out, nodes show their title and output "
    "shape; further out the canvas becomes an overview of boxes: click one to select it, double-"
    "click to zoom in on it. The minimap (View menu) shows the whole design; click it to go there."
)


class HelpWindow:
    """The list of keys, made once."""

    def __init__(self) -> None:
        with dpg.window(
            label="Keyboard shortcuts",
            show=False,
            width=640,
            height=620,
            no_saved_settings=True,
            no_collapse=True,
        ) as self.window:
            dpg.add_text(f"torch-designer {__version__}", color=MUTED)
            dpg.add_text(CANVAS, wrap=600)
            with dpg.table(header_row=True, row_background=True, policy=dpg.mvTable_SizingFixedFit):
                dpg.add_table_column(label="keys")
                dpg.add_table_column(label="action", width_stretch=True)
                for keys, what in key_table():
                    with dpg.table_row():
                        dpg.add_text(keys)
                        dpg.add_text(what, wrap=430)

    @property
    def visible(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def open(self) -> None:
        dpg.configure_item(self.window, show=True, pos=(300, 120))
        dpg.focus_item(self.window)

    def close(self) -> None:
        dpg.configure_item(self.window, show=False)
