"""The issues list: every validation issue; clicking one selects and centres its node."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.core.validate import Issue
from designer.gui.present import issue_line, top_node
from designer.gui.theme import MUTED

if TYPE_CHECKING:
    from designer.gui.host import Host


class IssuesPanel:
    """Rebuilt only when the list of issues changes."""

    def __init__(self, app: Host, parent: int | str) -> None:
        self.app = app
        self.parent = parent
        self.shown: list[Issue] | None = None
        self.rows: list[int] = []

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
