"""The block palette: every registered block by category, the common presets, a search box.

Clicking a block adds it in the middle of the canvas; dragging it drops it where it is released.
The list comes from ``REGISTRY.categories()`` (the library's composite blocks included); the search
uses :func:`designer.edit.editor.find_blocks`. Under "Presets", a click adds a block with some
parameters set ("Conv 3x3 same": a Conv2d with padding 1), from
:data:`designer.blocks.presets.PRESETS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.blocks import REGISTRY
from designer.blocks.presets import PRESETS, Preset, find_presets
from designer.edit.editor import find_blocks
from designer.gui.theme import MUTED

if TYPE_CHECKING:
    from designer.gui.host import Host

PAYLOAD = "designer-block"


class Palette:
    """Builds the palette inside ``parent`` and filters it as the user types."""

    def __init__(self, app: Host, parent: int | str) -> None:
        self.app = app
        self.buttons: dict[str, int] = {}
        self.headers: dict[str, tuple[int, list[str]]] = {}
        with dpg.group(parent=parent):
            self.search = dpg.add_input_text(
                hint="search blocks",
                width=-1,
                callback=app.guard(lambda s, a, u: self.filter(a)),
            )
            app.add_text_input(self.search)
            self.empty = dpg.add_text("no block matches", color=MUTED, show=False)
            for category, specs in REGISTRY.categories().items():
                self._category(category, [s.name for s in specs], {s.name: s.doc for s in specs})
            self.preset_buttons: dict[str, int] = {}
            self.presets_header = self._presets()
            self.local_parent = dpg.add_group()
        self.local: tuple[str, ...] = ()

    def sync(self) -> None:
        """Show the design's own blocks (made by grouping) under "This design"."""
        blocks = self.app.editor.root.blocks
        names = tuple(sorted(blocks))
        if names == self.local:
            return
        self.local = names
        for name in list(self.buttons):
            if not dpg.does_item_exist(self.buttons[name]):
                del self.buttons[name]
        old = self.headers.pop("This design", None)
        if old is not None:
            for name in old[1]:
                self.buttons.pop(name, None)
        dpg.delete_item(self.local_parent, children_only=True)
        if names:
            dpg.push_container_stack(self.local_parent)
            try:
                self._category("This design", list(names), {n: blocks[n].doc for n in names})
            finally:
                dpg.pop_container_stack()

    def _category(self, category: str, names: list[str], docs: dict[str, str]) -> None:
        add = self.app.guard(lambda s, a, name: self.app.add_block(name))
        with dpg.collapsing_header(label=category, default_open=True) as header:
            for name in names:
                button = dpg.add_button(label=name, width=-1, callback=add, user_data=name)
                with dpg.drag_payload(parent=button, drag_data=name, payload_type=PAYLOAD):
                    dpg.add_text(f"+ {name}")
                with dpg.tooltip(parent=button):
                    dpg.add_text(docs[name] or name, wrap=320)
                self.buttons[name] = button
        self.headers[category] = (header, names)

    def _presets(self) -> int:
        """The "Presets" header: a button per preset, adding its block with its parameters."""
        add = self.app.guard(lambda s, a, preset: self.add_preset(preset))
        with dpg.collapsing_header(label="Presets", default_open=True) as header:
            for preset in PRESETS:
                button = dpg.add_button(label=preset.name, width=-1, callback=add, user_data=preset)
                with dpg.tooltip(parent=button):
                    dpg.add_text(f"{preset.doc}\n{preset_text(preset)}", wrap=320)
                self.preset_buttons[preset.name] = button
        return header

    def add_preset(self, preset: Preset) -> None:
        """Add the preset's block where blocks land, its parameters set: one undo step."""
        self.app.add_block(preset.block, None, preset.params)

    def filter(self, query: str) -> None:
        """Show only the blocks and presets matching ``query`` (all when it is empty)."""
        matches = {s.name for s in find_blocks(query, self.app.editor.design)}
        for header, names in self.headers.values():
            shown = [n for n in names if n in matches]
            dpg.configure_item(header, show=bool(shown))
            if query:
                dpg.set_value(header, True)
            for name in names:
                dpg.configure_item(self.buttons[name], show=name in matches)
        presets = {p.name for p in find_presets(query)}
        dpg.configure_item(self.presets_header, show=bool(presets))
        if query:
            dpg.set_value(self.presets_header, True)
        for name, button in self.preset_buttons.items():
            dpg.configure_item(button, show=name in presets)
        dpg.configure_item(self.empty, show=not matches and not presets)


def preset_text(preset: Preset) -> str:
    """``Conv2d: kernel_size=3, padding=1``."""
    params = ", ".join(f"{k}={v}" for k, v in preset.params.items())
    return f"{preset.block}: {params}"
