"""The issues list: every validation issue (clicking one selects and centres its node), then the
log of refusals and errors the status bar showed, which stays until it is cleared."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.core.validate import Issue
from designer.gui.present import issue_line, top_node
from designer.gui.theme import ERROR, MUTED

if TYPE_CHECKING:
    from designer.gui.host import Host

MAX_LOG = 50


class IssuesPanel:
    """Issues rebuilt only when the list changes; the log below them."""

    def __init__(self, app: Host, parent: int | str) -> None:
        self.app = app
        self.parent = dpg.add_group(parent=parent)
        self.shown: list[Issue] | None = None
        self.rows: list[int] = []
        self.entries: list[str] = []
        with dpg.group(parent=parent, show=False) as self.log_group:
            dpg.add_separator()
            with dpg.group(horizontal=True):
                dpg.add_text("Log", color=MUTED)
                dpg.add_button(
                    label="Clear", small=True, callback=app.guard(lambda *_: self.clear_log())
                )
            self.log_rows = dpg.add_group()

    def show(self, issues: list[Issue]) -> None:
        if issues == self.shown:
            return
        self.shown = list(issues)
        dpg.delete_item(self.parent, children_only=True)
        self.rows = []
        if not issues:
            dpg.add_text("No issues: every shape checks out.", parent=self.parent, color=MUTED)
            return
        focus = self.app.guard(lambda s, a, node: self.app.focus_node(node))
        for issue in issues:
            node = top_node(issue)
            row = dpg.add_selectable(
                label=issue_line(issue),
                parent=self.parent,
                callback=focus,
                user_data=node,
            )
            themes = self.app.themes
            dpg.bind_item_theme(
                row, themes.error_text if issue.severity == "error" else themes.warning_text
            )
            if issue.hint:
                with dpg.tooltip(parent=row):
                    dpg.add_text(f"{issue.message}\nfix: {issue.hint}", wrap=380)
            self.rows.append(row)

    def log(self, text: str, colour: tuple = ERROR) -> None:
        """Keep a message of the status bar (newest first) until the log is cleared."""
        line = f"{time.strftime('%H:%M:%S')} {text}"
        self.entries.insert(0, line)
        del self.entries[MAX_LOG:]
        dpg.add_text(line, parent=self.log_rows, color=colour, wrap=300, before=self._first())
        for extra in dpg.get_item_children(self.log_rows, 1)[MAX_LOG:]:
            dpg.delete_item(extra)
        dpg.configure_item(self.log_group, show=True)

    def _first(self) -> int:
        children = dpg.get_item_children(self.log_rows, 1)
        return children[0] if children else 0

    def clear_log(self) -> None:
        self.entries.clear()
        dpg.delete_item(self.log_rows, children_only=True)
        dpg.configure_item(self.log_group, show=False)
