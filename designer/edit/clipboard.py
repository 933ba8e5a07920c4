"""Copy, paste and duplicate: nodes with the wires among them, inserted under fresh ids."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable

from designer.core.composite import IMPLICIT
from designer.edit.editor_core import EditorCore, canvas_pos
from designer.edit.fragment import Fragment, fit_node, take_fragment
from designer.edit.history import NodeAdded, WireAdded

PASTE_OFFSET = (40.0, 40.0)  # where a pasted or duplicated copy lands relative to its original
MAX_PASTE_POS = 1e9 - 1  # a copy of a node near the canvas edge may land up to what files hold


class ClipboardCommands(EditorCore):
    """The clipboard commands; a paste adapts what the shown design cannot hold."""

    def copy(self, nodes: Iterable[str]) -> int:
        """Copy nodes and the wires among them to the clipboard; returns how many."""
        self.clipboard = self._fragment(nodes)
        return len(self.clipboard)

    def paste(self, at: tuple[float, float] | None = None) -> list[str]:
        """Insert the clipboard with fresh ids (at ``at``, or offset from the originals)."""
        return self._insert(self.clipboard, at, "Paste")

    def duplicate(self, nodes: Iterable[str], at: tuple[float, float] | None = None) -> list[str]:
        """Copy and paste in one step, leaving the clipboard alone; returns the new ids.

        The copy's top left lands at ``at``, else :data:`PASTE_OFFSET` from the originals."""
        return self._insert(self._fragment(nodes), at, "Duplicate")

    def _fragment(self, nodes: Iterable[str]) -> Fragment:
        return take_fragment(self.design, nodes, lambda: self.report)

    def _insert(self, fragment: Fragment, at: tuple[float, float] | None, verb: str) -> list[str]:
        if not fragment.nodes:
            return []
        xs = [attrs["pos"][0] for _, attrs in fragment.nodes]
        ys = [attrs["pos"][1] for _, attrs in fragment.nodes]
        dx, dy = (at[0] - min(xs), at[1] - min(ys)) if at is not None else PASTE_OFFSET
        names = self._expr_names()
        fresh: dict[str, str] = {}
        with self._transaction(f"{verb} {len(fragment)} node{'s' * (len(fragment) != 1)}"):
            for old_id, attrs in fragment.nodes:
                new_id = fresh[old_id] = self.design.new_id(re.sub(r"_\d+$", "", old_id))
                moved = copy.deepcopy(fit_node(old_id, attrs, fragment, names))
                moved["pos"] = canvas_pos(
                    (attrs["pos"][0] + dx, attrs["pos"][1] + dy), MAX_PASTE_POS
                )
                if attrs["label"] == old_id:
                    moved["label"] = new_id
                self._do(NodeAdded(new_id, moved))
            for src, src_port, dst, dst_port in fragment.wires:
                self._do(WireAdded((fresh[src], src_port, fresh[dst], dst_port)))
        return list(fresh.values())

    def _expr_names(self) -> set[str]:
        """The names an expression may read here: none at the top level."""
        if not self.scope:
            return set()
        return {p.name for p in self.root.blocks[self.scope[-1][1]].params} | set(IMPLICIT)
