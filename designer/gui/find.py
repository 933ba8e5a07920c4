"""Find (Ctrl+F): nodes by label, block type or output shape; Enter shows the next match.

The search is :func:`designer.edit.editor.find_nodes`; showing a match selects it and brings it to
the middle of the canvas through the host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.edit.editor import find_nodes
from designer.gui.theme import MUTED

if TYPE_CHECKING:
    from designer.gui.host import Host

WIDTH = 320


class FindDialog:
    """A small window above the canvas with a search field and the matches."""

    def __init__(self, app: Host) -> None:
        self.app = app
        self.matches: list[str] = []
        self.index = -1
        with dpg.window(
            label="Find nodes",
            show=False,
            no_collapse=True,
            autosize=True,
            no_saved_settings=True,
            on_close=app.guard(lambda *_: self.close()),
        ) as self.window:
            self.input = dpg.add_input_text(
                hint="label, block type or shape (64x32)",
                width=WIDTH,
                callback=app.guard(lambda s, a, u: self.search(a)),
            )
            self.list = dpg.add_listbox(
                [], num_items=8, width=WIDTH, callback=app.guard(lambda s, a, u: self.pick(a))
            )
            self.note = dpg.add_text("Enter: next match, Shift+Enter: previous", color=MUTED)
        app.add_text_input(self.input)

    @property
    def visible(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def open(self, pos: tuple[float, float]) -> None:
        dpg.configure_item(self.window, show=True, pos=(int(pos[0]), int(pos[1])))
        dpg.focus_item(self.window)
        dpg.focus_item(self.input)
        self.search(dpg.get_value(self.input))

    def close(self) -> None:
        dpg.configure_item(self.window, show=False)

    def search(self, query: str) -> None:
        """List the matches of ``query`` (best first) and show the first."""
        editor = self.app.editor
        self.matches = find_nodes(editor.design, editor.report, query)
        dpg.configure_item(self.list, items=[self._line(n) for n in self.matches])
        count = len(self.matches)
        dpg.set_value(self.note, f"{count} match{'es' * (count != 1)}" if query.strip() else "")
        self.index = -1
        if self.matches:
            self.step(1)

    def _line(self, node_id: str) -> str:
        data = self.app.editor.design.node(node_id)
        label = data["label"] if data["label"] == node_id else f"{data['label']} ({node_id})"
        return f"{label} · {data['type']}"

    def step(self, by: int) -> None:
        """Show the next (``by`` = 1) or previous (-1) match."""
        if not self.matches:
            return
        self.index = (self.index + by) % len(self.matches)
        dpg.set_value(self.list, self._line(self.matches[self.index]))
        self.app.focus_node(self.matches[self.index])

    def pick(self, line: str) -> None:
        lines = [self._line(n) for n in self.matches]
        if line in lines:
            self.index = lines.index(line) - 1
            self.step(1)
