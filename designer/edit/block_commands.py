"""Composite blocks: group nodes into a block, ungroup an instance, open and close blocks.

While a block is open (:meth:`BlockCommands.enter`) the other commands edit its definition,
which every instance shares; the breadcrumb leads back out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from designer.core.graph import Design, DesignError
from designer.edit.editor_core import EditorCore
from designer.edit.grouping import group, ungroup
from designer.edit.history import BlocksSet, GraphSet
from designer.edit.refused import EditRefused


class BlockCommands(EditorCore):
    """Grouping, ungrouping and the breadcrumb of open composite blocks."""

    def group(
        self,
        nodes: Iterable[str],
        name: str,
        promote: Iterable[tuple[str, str]] = (),
        doc: str = "",
    ) -> str:
        """Replace ``nodes`` by one instance of a new block ``name`` (one undo step).

        The block's ports come from the wires crossing the selection; ``promote`` lists
        ``(node, parameter)`` pairs that become its parameters. Returns the instance's id.
        """
        chosen = list(dict.fromkeys(nodes))
        for node_id in chosen:
            self._need(node_id)
        scratch = self._scratch()
        try:
            instance = group(scratch, chosen, name, list(promote), doc)
        except DesignError as exc:
            raise EditRefused(str(exc)) from None
        scratch.blocks[name].body.blocks = self.design.blocks
        with self._transaction(f"Group {len(chosen)} nodes into {name}"):
            self._do(GraphSet(copy.deepcopy(self.design.graph), scratch.graph))
            self._do(BlocksSet(dict(self.design.blocks), scratch.blocks))
        return instance

    def ungroup(self, instance: str) -> list[str]:
        """Put a composite instance's nodes back in its place (one undo step); returns them."""
        if "repeat" in self._need(instance):
            raise EditRefused(
                f"`{instance}` stands for several copies of its block",
                "expand the repeat first (each copy can then be ungrouped)",
            )
        scratch = self._scratch()
        try:
            nodes = ungroup(scratch, instance)
        except DesignError as exc:
            raise EditRefused(str(exc), "select an instance of a composite block") from None
        with self._transaction(f"Ungroup {instance}"):
            self._do(GraphSet(copy.deepcopy(self.design.graph), scratch.graph))
        return nodes

    def breadcrumb(self) -> list[str]:
        """What the breadcrumb shows: the design, then each open instance with its block."""
        return [self.root.name] + [f"{node} ({name})" for node, name in self.scope]

    def enter(self, instance: str) -> None:
        """Open a composite instance: further edits change its block's definition."""
        block = self._need(instance)["type"]
        spec = self._spec(block)
        if spec.composite is None:
            raise EditRefused(f"{block} `{instance}` is a built-in block", "open a composite block")
        if block not in self.root.blocks:
            raise EditRefused(
                f"{block} is a library block and cannot be edited here",
                "ungroup the instance, or group nodes into a block of this design",
            )
        if block in self.scope_names:
            raise EditRefused(f"{block} is already open", "use the breadcrumb to go back")
        self._show_scope([*self.scope, (instance, block)])

    def leave(self, depth: int = 0) -> None:
        """Go back to breadcrumb level ``depth`` (0: the design itself)."""
        if depth < len(self.scope):
            self._show_scope(self.scope[:depth])

    def _scratch(self) -> Design:
        """A copy of the shown design to run a rewrite on (its blocks dict copied too)."""
        scratch = Design(self.design.name)
        scratch.graph = copy.deepcopy(self.design.graph)
        scratch.blocks = dict(self.design.blocks)
        return scratch
