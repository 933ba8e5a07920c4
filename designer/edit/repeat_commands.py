"""Repeat nodes in the editor: set a node's count of copies, or expand it into chained copies.

:meth:`RepeatCommands.set_repeat` gives a node a count (inside an open block also an expression
over the block's parameters, such as ``depth``) or takes it away; :meth:`expand_repeat` replaces a
repeated node by that many plain copies wired in a chain, the nodes to its right moved out of the
way. Each is one undo step.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from designer.blocks import UnknownBlockError
from designer.core.composite import IMPLICIT
from designer.core.expr import ExprError, names_in
from designer.core.layout import COLUMN
from designer.core.repeat import repeatable, value_problem
from designer.edit.editor_core import EditorCore, canvas_pos
from designer.edit.history import NodeAdded, WireAdded, WireRemoved
from designer.edit.refused import EditRefused

MAX_LABEL = 64  # characters in a node's label (as node_commands keeps them)


class RepeatCommands(EditorCore):
    """Setting a node's repeat count, and expanding a repeated node into its copies."""

    def set_repeat(self, node_id: str, count: int | str | None) -> None:
        """Repeat a node ``count`` times in sequence (None: once, as a plain node)."""
        data = self._need(node_id)
        if count is not None:
            self._check_count(node_id, data, count)
        if data.get("repeat") == count:
            return
        what = f"Repeat {node_id} ×{count}" if count is not None else f"Unrepeat {node_id}"
        with self._transaction(what):
            self._set(node_id, "repeat", count)

    def set_repeat_text(self, node_id: str, text: str) -> None:
        """Set the count from what a user typed: a number, an expression inside a block, or
        nothing (not repeated)."""
        text = text.strip()
        if not text:
            self.set_repeat(node_id, None)
        elif re.fullmatch(r"[+-]?\d{1,12}", text):
            self.set_repeat(node_id, int(text))
        else:
            self.set_repeat(node_id, text)

    def expand_repeat(self, node_id: str) -> list[str]:
        """Replace a repeated node by its copies wired in a chain (one undo step); returns them,
        the node itself first (it keeps its id, wires in and label)."""
        data = self._need(node_id)
        if "repeat" not in data:
            raise EditRefused(f"`{node_id}` is not repeated", "select a node shown with ×N")
        count = self._evaluated_count(node_id, data)
        spec = self._spec(data["type"])
        port_in, port_out = spec.inputs[0], spec.outputs[0]
        outgoing = self.design.outputs_of(node_id)
        x0 = data["pos"][0]
        right = {n: self.design.node(n)["pos"] for n in self.design.node_ids()}
        right = {n: pos for n, pos in right.items() if pos[0] > x0}
        nodes = [node_id]
        with self._transaction(f"Expand {node_id} ×{count}"):
            if right and count > 1:
                shift = (count - 1) * COLUMN
                self.move({n: (pos[0] + shift, pos[1]) for n, pos in right.items()})
            for src_port, dst, dst_port in outgoing:
                self._do(WireRemoved((node_id, src_port, dst, dst_port)))
            self._set(node_id, "repeat", None)
            for k in range(2, count + 1):
                nodes.append(self._add_copy(node_id, k))
                self._do(WireAdded((nodes[-2], port_out, nodes[-1], port_in)))
            for src_port, dst, dst_port in outgoing:
                self._do(WireAdded((nodes[-1], src_port, dst, dst_port)))
        return nodes

    # -- helpers --------------------------------------------------------------------------------
    def _check_count(self, node_id: str, data: dict[str, Any], count: Any) -> None:
        """Refuse a count this node cannot take, saying why."""
        try:
            spec = self.design.spec(data["type"])
        except UnknownBlockError:
            spec = None
        if spec is None or not repeatable(spec):
            raise EditRefused(
                f"{data['type']} `{node_id}` cannot repeat: only a module block with one input "
                "and one output can",
                "repeat a layer or a composite block, or group these nodes into one first",
            )
        problem = value_problem(count, expressions=bool(self.scope))
        if problem is not None:
            raise EditRefused(f"{node_id}: {problem}", "type a whole number such as 4")
        if isinstance(count, str):
            declared = {p.name for p in self.root.blocks[self.scope[-1][1]].params}
            try:
                unknown = sorted(names_in(count) - declared - set(IMPLICIT))
            except ExprError as exc:
                raise EditRefused(f"{node_id}: {exc}", "fix the expression") from None
            if unknown:
                known = ", ".join(sorted(declared | set(IMPLICIT)))
                raise EditRefused(f"{node_id}: unknown name {unknown[0]!r}", f"known: {known}")

    def _evaluated_count(self, node_id: str, data: dict[str, Any]) -> int:
        """The node's count here: its number, or what its expression evaluates to."""
        if isinstance(data["repeat"], int):
            return data["repeat"]
        info = self.report.nodes.get(node_id)
        if info is None or info.repeat is None:
            raise EditRefused(
                f"the count of `{node_id}` ({data['repeat']}) is not known here",
                "fix the issues of the block first",
            )
        return info.repeat

    def _add_copy(self, node_id: str, k: int) -> str:
        """Copy ``k`` of a node (no repeat), ``k - 1`` columns to its right; returns its id."""
        attrs = copy.deepcopy(dict(self.design.node(node_id)))
        attrs.pop("repeat", None)
        new_id = self.design.new_id(f"{node_id}_{k}")
        suffix = f"_{k}"
        label = attrs["label"]
        attrs["label"] = new_id if label == node_id else label[: MAX_LABEL - len(suffix)] + suffix
        x, y = attrs["pos"]
        attrs["pos"] = canvas_pos((x + (k - 1) * COLUMN, y), 1e9 - 1)
        self._do(NodeAdded(new_id, attrs))
        return new_id
