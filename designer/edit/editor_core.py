"""The editing session every command builds on: state, listeners, undo plumbing, open blocks.

A command runs inside :meth:`EditorCore._transaction`, which records its primitive operations
(:mod:`designer.edit.history`) as one undo step, or rolls them back when the command is refused.
The command mixins (nodes, clipboard, blocks, files) add the commands themselves.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from designer.blocks import REGISTRY, BlockSpec, UnknownBlockError
from designer.core.graph import Design
from designer.core.layout import auto_layout, needs_layout
from designer.core.validate import Analyzer, Report
from designer.edit.block_bodies import (
    Scope,
    check_body,
    check_nesting,
    inner_report,
    redefine,
    scope_of,
    working_copy,
)
from designer.edit.fragment import Fragment
from designer.edit.history import AttrSet, BlocksSet, History, Op, Transaction, capture_order
from designer.edit.recovery import Autosaver
from designer.edit.refused import EditRefused

MAX_POS = 1e8  # canvas positions a command accepts (files hold less than 1e9)


@dataclass(frozen=True)
class Change:
    """What happened: ``edit`` (a command, undo, redo), ``reset`` (another design) or ``saved``."""

    kind: str
    nodes: frozenset[str] = frozenset()
    wires: bool = False
    label: str = ""


class EditorCore:
    """One open design with its file, undo history, listeners and current validation report."""

    def __init__(
        self,
        design: Design | None = None,
        path: str | os.PathLike | None = None,
        autosaver: Autosaver | None = None,
    ) -> None:
        self.root = design if design is not None else Design()
        self.design = self.root  # the design being edited: the root or an open block's body
        self.scope: Scope = []  # breadcrumb: (instance id, block name) pairs
        self.path: Path | None = Path(path) if path is not None else None
        self.history = History()
        self.clipboard = Fragment()
        self.autosaver = autosaver
        self._listeners: list[Callable[[Change], None]] = []
        self._analyzer = Analyzer()
        self._report: Report | None = None
        self._current: Transaction | None = None
        self._saved_at: object | None = None  # history top when last saved/opened
        self.version = 0  # bumped by every change, undo and redo
        self.expansions: dict[tuple[tuple[str, ...], str], Any] = {}  # expanded instances

    # -- state ----------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """True when the design differs from its file (or was never saved and has content)."""
        return self.history.top() is not self._saved_at

    @property
    def display_name(self) -> str:
        """The file name, or the design's name when it has no file yet."""
        return self.path.name if self.path is not None else f"{self.root.name} (not saved)"

    @property
    def report(self) -> Report:
        """The current validation report (recomputed after a change, incrementally)."""
        if self._report is None:
            if self.scope:
                self._report = inner_report(self._analyzer, self.root, self.scope)
            else:
                self._report = self._analyzer.run(self.design)
        return self._report

    @property
    def scope_names(self) -> tuple[str, ...]:
        """The block definitions open, outermost first (empty at the top level)."""
        return tuple(name for _, name in self.scope)

    def subscribe(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``listener`` after every change; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def can_undo(self) -> bool:
        return bool(self.history.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.history.redo_stack)

    # -- undo and redo --------------------------------------------------------------------------
    def undo(self) -> str | None:
        """Undo the last step; returns its label (None when there is nothing to undo)."""
        if not self.history.undo_stack:
            return None
        self._goto(self.history.undo_stack[-1].scope)
        step = self.history.undo_stack.pop()
        step.undo(self.design)
        self.history.redo_stack.append(step)
        self._changed(step)
        return step.label

    def redo(self) -> str | None:
        """Redo the last undone step; returns its label (None when there is nothing to redo)."""
        if not self.history.redo_stack:
            return None
        self._goto(self.history.redo_stack[-1].scope)
        step = self.history.redo_stack.pop()
        step.redo(self.design)
        self.history.undo_stack.append(step)
        self._changed(step)
        return step.label

    # -- transactions ---------------------------------------------------------------------------
    @contextmanager
    def _transaction(self, label: str) -> Iterator[Transaction]:
        """Collect the primitive ops of one command; roll them back if the command fails."""
        if self._current is not None:  # nested: part of the enclosing step
            yield self._current
            return
        step = self._current = Transaction(label, scope=self.scope_names)
        try:
            yield step
            if step.ops:
                self._settle(step)
        except BaseException:
            step.undo(self.design)
            raise
        finally:
            self._current = None
        if not step.ops:
            return
        if step.structural:
            step.after = capture_order(self.design)
        self.history.push(step)
        self._changed(step)

    def _do(self, op: Op) -> None:
        """Apply one primitive op as part of the current command."""
        step = self._current
        assert step is not None, "primitive edits happen inside a transaction"
        if step.before is None and not isinstance(op, (AttrSet, BlocksSet)):
            step.before = capture_order(self.design)
        op.apply(self.design)
        step.ops.append(op)

    def _settle(self, step: Transaction) -> None:
        """End a command: store the open block's definition; refuse what no file could hold."""
        if self.scope:
            name = self.scope[-1][1]
            check_body(self.design, name)
            blocks = redefine(self.root, name, self.design)
            self._do(BlocksSet(dict(self.root.blocks), blocks))
        if any(isinstance(op, BlocksSet) for op in step.ops):
            check_nesting(self.root.blocks, step.label)

    def _changed(self, step: Transaction) -> None:
        if any(isinstance(op, BlocksSet) for op in step.ops):
            self._analyzer = Analyzer()  # its memo holds ids of block specs now gone
        self._report = None
        self.version += 1
        nodes = step.affected() | self._instances_of(step)
        self._emit(Change("edit", frozenset(nodes), step.touches_wires(), step.label))

    def _instances_of(self, step: Transaction) -> set[str]:
        """Nodes of the shown design whose block definition the step replaced."""
        names: set[str] = set()
        for op in step.ops:
            if isinstance(op, BlocksSet):
                names |= {
                    n for n in op.old.keys() | op.new.keys() if op.old.get(n) is not op.new.get(n)
                }
        return {n for n in self.design.node_ids() if self.design.node(n)["type"] in names}

    def _emit(self, change: Change) -> None:
        for listener in list(self._listeners):
            listener(change)

    # -- what is shown --------------------------------------------------------------------------
    def _reset(self, design: Design, path: Path | None) -> None:
        """Show another design, with a fresh history (a new or opened file)."""
        self.root = self.design = design
        self.scope, self.path = [], path
        self.history.clear()
        self.expansions.clear()
        self._saved_at = None
        self._analyzer = Analyzer()
        self._report = None
        self.version += 1
        if self.autosaver is not None:
            self.autosaver.start_over()
        self._emit(Change("reset", frozenset(design.node_ids()), True, "Open"))

    def _show_scope(self, scope: Scope) -> None:
        """Show the body of the innermost open block (a working copy), or the root."""
        self.scope = list(scope)
        self.design = working_copy(self.root, scope[-1][1]) if scope else self.root
        if scope and needs_layout(self.design):  # an imported block's body: laid out when opened
            auto_layout(self.design)
        self._analyzer = Analyzer()
        self._report = None
        self.version += 1
        self._emit(Change("reset", frozenset(self.design.node_ids()), True, "Open block"))

    def _goto(self, names: tuple[str, ...]) -> None:
        """Show the scope a history step was made in (instances found again by block name)."""
        if names != self.scope_names:
            self._show_scope(scope_of(self.root, names))

    # -- lookups --------------------------------------------------------------------------------
    def _need(self, node_id: str) -> dict[str, Any]:
        """The shown design's node ``node_id``, refused when there is none."""
        if node_id not in self.design:
            raise EditRefused(f"there is no node {node_id!r}", "it may have been deleted")
        return self.design.node(node_id)

    def _spec(self, block_type: str) -> BlockSpec:
        """The block type's spec, refused (with a close spelling) when the design has none."""
        try:
            return self.design.spec(block_type)
        except UnknownBlockError:
            known = [s.name for s in REGISTRY] + list(self.design.blocks)
            close = difflib.get_close_matches(block_type, known, n=1)
            hint = f"did you mean {close[0]}?" if close else "pick a block from the palette"
            raise EditRefused(f"unknown block type {block_type!r}", hint) from None


def canvas_pos(pos: tuple[float, float], limit: float = MAX_POS) -> tuple[float, float]:
    """A canvas position as files hold it (2 decimals), refused when off any canvas they hold."""
    x, y = float(pos[0]), float(pos[1])
    if not (abs(x) <= limit and abs(y) <= limit):  # NaN fails too
        raise EditRefused(f"position ({x:g}, {y:g}) is off the canvas", "place it nearer")
    return round(x, 2), round(y, 2)
