"""The editing session: every change a user can make to a design, as an undoable command.

The GUI is a thin view over an :class:`Editor`; tests drive the very same commands headless.
A command either succeeds as one undo step or is refused with an :class:`EditRefused` that says
why and what to do instead, leaving the design untouched. After every change, listeners receive a
:class:`Change` naming the nodes it touched, and :attr:`Editor.report` is the design's validation
report (computed incrementally: only nodes whose type, parameters or input shapes changed are
inferred again).

Nothing an editor makes fails to load: a command is also refused when its result could not be
saved and opened again (a block that would contain itself or nest too deep, an open block left
without an Input or an Output, a position or value no file holds), and a paste adapts what the
shown design cannot hold (expressions reading names it lacks become their values).
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from designer.blocks import REGISTRY, BlockSpec, UnknownBlockError
from designer.core import layout
from designer.core.composite import IMPLICIT, CompositeDef, block_uses, is_expr, nesting_problem
from designer.core.expr import ExprError, names_in
from designer.core.fileformat import load, save
from designer.core.graph import Design, DesignError
from designer.core.params import ParamError
from designer.core.paramtext import from_text
from designer.core.validate import Analyzer, Report
from designer.edit.grouping import group, ungroup
from designer.edit.history import (
    AttrSet,
    BlocksSet,
    GraphSet,
    History,
    NodeAdded,
    NodeRemoved,
    Op,
    Transaction,
    WireAdded,
    WireRemoved,
    capture_order,
)
from designer.edit.recovery import Autosaver, Recovered

PASTE_OFFSET = (40.0, 40.0)  # where a pasted or duplicated copy lands relative to its original
MAX_POS = 1e8  # canvas positions a command accepts (files hold less than 1e9)
MAX_INT = 10**18  # integer parameter values a command accepts (files hold them as text)


class EditRefused(DesignError):
    """A command that cannot be done as asked; ``message`` says why, ``hint`` what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.message, self.hint = message, hint


@dataclass(frozen=True)
class Change:
    """What happened: ``edit`` (a command, undo, redo), ``reset`` (another design) or ``saved``."""

    kind: str
    nodes: frozenset[str] = frozenset()
    wires: bool = False
    label: str = ""


@dataclass(frozen=True)
class Ports:
    """A node's input and output port names as the canvas shows them."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass
class Fragment:
    """Copied nodes with the wires among them (wires to outside nodes are left behind)."""

    nodes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    wires: list[tuple[str, str, str, str]] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # expressions, evaluated

    def __len__(self) -> int:
        return len(self.nodes)


class Editor:
    """One open design with its file, undo history, listeners and current validation report."""

    def __init__(
        self,
        design: Design | None = None,
        path: str | os.PathLike | None = None,
        autosaver: Autosaver | None = None,
    ) -> None:
        self.root = design if design is not None else Design()
        self.design = self.root  # the design being edited: the root or an open block's body
        self.scope: list[tuple[str, str]] = []  # breadcrumb: (instance id, block name) pairs
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
            self._report = self._analyzer.run(self.design) if not self.scope else self._inner()
        return self._report

    def subscribe(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``listener`` after every change; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def ports(self, node_id: str) -> Ports:
        """Ports of a node; a variadic block shows one free input after its last wired one."""
        wired = self.design.inputs_of(node_id)
        outputs_used = {p for p, _, _ in self.design.outputs_of(node_id)}
        try:
            spec = self.design.spec(self.design.node(node_id)["type"])
        except UnknownBlockError:
            return Ports(tuple(sorted(wired)), tuple(sorted(outputs_used)))
        if spec.variadic:
            highest = max((spec.port_index(p) or 0) + 1 for p in wired) if wired else 0
            inputs = spec.input_ports(highest)
        else:
            inputs = spec.inputs
        extra_in = tuple(p for p in wired if p not in inputs)
        extra_out = tuple(sorted(outputs_used - set(spec.outputs)))
        return Ports(inputs + extra_in, spec.outputs + extra_out)

    @property
    def can_undo(self) -> bool:
        return bool(self.history.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.history.redo_stack)

    # -- commands -------------------------------------------------------------------------------
    def add_node(
        self,
        block_type: str,
        pos: tuple[float, float] = (0.0, 0.0),
        params: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> str:
        """Add a block instance at ``pos``; returns its new id."""
        spec = self._spec(block_type)
        values = {}
        for name, value in (params or {}).items():
            values[name] = self._coerce(spec, block_type, name, value)
        node_id = self.design.new_id(block_type)
        attrs = {
            "type": block_type,
            "params": values,
            "label": self._label(node_id, label) if label is not None else node_id,
            "pos": _pos(pos),
        }
        with self._transaction(f"Add {block_type}"):
            self._do(NodeAdded(node_id, attrs))
        return node_id

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> None:
        """Wire an output to an input; a wired input is rewired. Refuses wires closing a loop."""
        self._need(src), self._need(dst)
        if src_port not in self.ports(src).outputs:
            known = ", ".join(self.ports(src).outputs) or "none"
            raise EditRefused(f"{src} has no output {src_port!r}", f"its outputs: {known}")
        spec = self._spec(self.design.node(dst)["type"])
        if spec.port_index(dst_port) is None:
            known = ", ".join(self.ports(dst).inputs) or "none"
            raise EditRefused(f"{dst} has no input {dst_port!r}", f"its inputs: {known}")
        if self.design.would_cycle(src, dst):
            raise EditRefused(
                f"a wire from {src} to {dst} would close a loop ({dst} already feeds {src})"
                if src != dst
                else f"{src} cannot feed itself",
                "models are acyclic: wire from an earlier block",
            )
        if self.design.inputs_of(dst).get(dst_port) == (src, src_port):
            return
        with self._transaction(f"Connect {src} → {dst}"):
            self._unwire(dst, dst_port)
            self._do(WireAdded((src, src_port, dst, dst_port)))

    def disconnect(self, dst: str, dst_port: str) -> None:
        """Remove the wire into ``dst.dst_port`` (nothing happens if it is not wired)."""
        self.delete(wires=[(dst, dst_port)])

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Set a parameter; an invalid value is refused with the reason, changing nothing."""
        data = self._need(node_id)
        clean = self._coerce(self._spec(data["type"]), node_id, name, value)
        if name in data["params"] and data["params"][name] == clean:
            return
        with self._transaction(f"Set {node_id}.{name}"):
            self._set(node_id, "params", {**data["params"], name: clean})

    def set_param_text(self, node_id: str, name: str, text: str) -> None:
        """Set a parameter from what a user typed (``3, 5``, ``same``, empty for unset)."""
        param = self._param(node_id, name)
        try:
            value = from_text(param, text)
        except ParamError as exc:
            raise EditRefused(f"{node_id}: {exc.message}", exc.hint) from None
        self.set_param(node_id, name, value)

    def reset_param(self, node_id: str, name: str) -> None:
        """Drop an explicit value so the parameter takes its default."""
        data = self._need(node_id)
        if name not in data["params"]:
            self._param(node_id, name)
            return
        params = {k: v for k, v in data["params"].items() if k != name}
        with self._transaction(f"Reset {node_id}.{name}"):
            self._set(node_id, "params", params)

    def move(self, positions: Mapping[str, tuple[float, float]]) -> None:
        """Move several nodes at once, as one undo step (a drag)."""
        changed = {}
        for node_id, pos in positions.items():
            new = _pos(pos)
            if self._need(node_id)["pos"] != new:
                changed[node_id] = new
        if not changed:
            return
        what = next(iter(changed)) if len(changed) == 1 else f"{len(changed)} nodes"
        with self._transaction(f"Move {what}"):
            for node_id, pos in changed.items():
                self._set(node_id, "pos", pos)

    def delete(self, nodes: Iterable[str] = (), wires: Iterable[tuple[str, str]] = ()) -> None:
        """Delete nodes (with their wires) and wires given as ``(dst, dst_port)``."""
        nodes = [n for n in dict.fromkeys(nodes)]
        for node_id in nodes:
            self._need(node_id)
        wires = [w for w in wires if w[0] not in nodes and w[1] in self.design.inputs_of(w[0])]
        if not nodes and not wires:
            return
        what = ", ".join(nodes[:3]) + ("…" if len(nodes) > 3 else "") if nodes else "wire"
        with self._transaction(f"Delete {what}"):
            for dst, dst_port in wires:
                self._unwire(dst, dst_port)
            for node_id in nodes:
                self._remove_node(node_id)

    def rename(self, node_id: str, label: str) -> None:
        """Change the label shown on the canvas (and used for generated names)."""
        self._need(node_id)
        label = self._label(node_id, label)
        if self.design.node(node_id)["label"] != label:
            with self._transaction(f"Rename {node_id}"):
                self._set(node_id, "label", label)

    @staticmethod
    def _label(node_id: str, label: str) -> str:
        label = label.strip()
        if not label:
            raise EditRefused(f"{node_id}: a label cannot be empty", "type a short name")
        if len(label) > 64:
            raise EditRefused(f"{node_id}: a label has at most 64 characters", "shorten it")
        try:
            label.encode("utf-8")
        except UnicodeEncodeError:
            raise EditRefused(f"{node_id}: the label is not valid text", "retype it") from None
        return label

    def copy(self, nodes: Iterable[str]) -> int:
        """Copy nodes and the wires among them to the clipboard; returns how many."""
        self.clipboard = self._fragment(nodes)
        return len(self.clipboard)

    def paste(self, at: tuple[float, float] | None = None) -> list[str]:
        """Insert the clipboard with fresh ids (at ``at``, or offset from the originals)."""
        return self._insert(self.clipboard, at, "Paste")

    def duplicate(self, nodes: Iterable[str]) -> list[str]:
        """Copy and paste in one step, leaving the clipboard alone; returns the new ids."""
        return self._insert(self._fragment(nodes), None, "Duplicate")

    def auto_layout(self) -> None:
        """Arrange every node in layers, left to right, as one undoable move."""
        scratch = Design()
        scratch.graph = self.design.graph.copy()
        layout.auto_layout(scratch)
        self.move({n: scratch.node(n)["pos"] for n in scratch.node_ids()})

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

    # -- composite blocks -------------------------------------------------------------------------
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
        self._need(instance)
        scratch = self._scratch()
        try:
            nodes = ungroup(scratch, instance)
        except DesignError as exc:
            raise EditRefused(str(exc), "select an instance of a composite block") from None
        with self._transaction(f"Ungroup {instance}"):
            self._do(GraphSet(copy.deepcopy(self.design.graph), scratch.graph))
        return nodes

    @property
    def scope_names(self) -> tuple[str, ...]:
        """The block definitions open, outermost first (empty at the top level)."""
        return tuple(name for _, name in self.scope)

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

    # -- files ----------------------------------------------------------------------------------
    def new(self, name: str = "untitled", path: str | os.PathLike | None = None) -> None:
        """Start an empty design, bound to ``path`` if given (callers ask about unsaved work)."""
        self._reset(Design(name), Path(path) if path is not None else None)

    def open(self, path: str | os.PathLike) -> None:
        """Load a design file; positions are laid out when the file has none."""
        design = load(path)
        if layout.needs_layout(design):
            layout.auto_layout(design)
        self._reset(design, Path(path))

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the design to ``path`` (default: its own file) atomically; returns the path."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise EditRefused("this design has no file yet", "use Save As to choose one")
        save(self.root, target)
        self.path = target
        self._saved_at = self.history.top()
        if self.autosaver is not None:
            self.autosaver.start_over()
        self._emit(Change("saved"))
        return target

    def save_as(self, path: str | os.PathLike) -> Path:
        """Write the design to a new file, which becomes its own."""
        return self.save(path)

    def recover(self, found: Recovered) -> None:
        """Continue from a crash's recovery file; the result counts as unsaved work."""
        design = found.load()
        self._reset(design, Path(found.original) if found.original else None)
        self._saved_at = object()  # differs from its file: dirty until saved
        found.discard()
        self._emit(Change("saved"))

    def autosave_if_due(self, now: float) -> Path | None:
        """Write the recovery file when there is unsaved work and the interval has passed."""
        saver = self.autosaver
        if saver is None or not self.dirty or not saver.due(now, self.version):
            return None
        return saver.write(self.root, str(self.path) if self.path else None, now, self.version)

    def close(self) -> None:
        """The session ends cleanly: its recovery file is no longer needed."""
        if self.autosaver is not None:
            self.autosaver.start_over()

    # -- scopes -----------------------------------------------------------------------------------
    def _scratch(self) -> Design:
        """A copy of the shown design to run a rewrite on (its blocks dict copied too)."""
        scratch = Design(self.design.name)
        scratch.graph = copy.deepcopy(self.design.graph)
        scratch.blocks = dict(self.design.blocks)
        return scratch

    def _show_scope(self, scope: list[tuple[str, str]]) -> None:
        """Show the body of the innermost open block (a working copy), or the root."""
        self.scope = list(scope)
        if scope:
            definition = self.root.blocks[scope[-1][1]]
            body = Design(definition.name)
            body.graph = copy.deepcopy(definition.body.graph)
            body.blocks = self.root.blocks
            self.design = body
        else:
            self.design = self.root
        self._analyzer = Analyzer()
        self._report = None
        self.version += 1
        self._emit(Change("reset", frozenset(self.design.node_ids()), True, "Open block"))

    def _goto(self, names: tuple[str, ...]) -> None:
        """Show the scope a history step was made in (instances found again by block name)."""
        if names == self.scope_names:
            return
        scope, design = [], self.root
        for name in names:
            instance = next(iter(design.nodes_of_type(name)), name)
            scope.append((instance, name))
            design = self.root.blocks[name].body
        self._show_scope(scope)

    def _settle(self, step: Transaction) -> None:
        """End a command: store the open block's definition; refuse what no file could hold."""
        if self.scope:
            self._check_body()
            self._store_definition()
        if any(isinstance(op, BlocksSet) for op in step.ops):
            problem = nesting_problem(self.root.blocks)
            if problem is not None:
                raise _nesting_refused(step.label, problem[1])

    def _check_body(self) -> None:
        """The open block keeps an Input and an Output, and its conditional nodes one input."""
        name = self.scope[-1][1]
        for kind, port in (("Input", "input"), ("Output", "output")):
            if not self.design.nodes_of_type(kind):
                raise EditRefused(
                    f"block {name} needs at least one {kind} node (its {port} port)",
                    f"add another {kind} first",
                )
        for node_id, data in self.design.graph.nodes(data=True):
            if "when" in data and len(self.design.inputs_of(node_id)) != 1:
                raise EditRefused(
                    f"`{node_id}` is used only when {data['when']} and needs exactly one input "
                    "wire",
                    f"wire one input into {node_id}, or delete it",
                )

    def _store_definition(self) -> None:
        """Replace the open block's definition by one with the edited body (every instance).

        Blocks using it, directly or not, are replaced by fresh copies too: their memoised
        instances were computed with the old definition.
        """
        name = self.scope[-1][1]
        old = self.root.blocks[name]
        body = Design(old.name)
        body.graph = copy.deepcopy(self.design.graph)
        body.blocks = self.root.blocks
        blocks = {**self.root.blocks, name: _redefined(old, body)}
        for user in _users(blocks, name):
            blocks[user] = _redefined(blocks[user], blocks[user].body)
        self._do(BlocksSet(dict(self.root.blocks), blocks))

    def _inner(self) -> Report:
        """The open block's body as its (first) instance sees it: shapes and resolved values."""
        report, design = self._analyzer.run(self.root), self.root
        for instance, name in self.scope:
            info = report.nodes.get(instance)
            if info is None:  # the instance has issues of its own: shown at the top level
                return Report()
            report = design.blocks[name].instantiate(info.values, list(info.in_shapes)).report
            design = self.root.blocks[name].body
        return report

    # -- internals ------------------------------------------------------------------------------
    def _reset(self, design: Design, path: Path | None) -> None:
        self.root = self.design = design
        self.scope, self.path = [], path
        self.history.clear()
        self._saved_at = None
        self._analyzer = Analyzer()
        self._report = None
        self.version += 1
        if self.autosaver is not None:
            self.autosaver.start_over()
        self._emit(Change("reset", frozenset(design.node_ids()), True, "Open"))

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
        step = self._current
        assert step is not None, "primitive edits happen inside a transaction"
        if step.before is None and not isinstance(op, (AttrSet, BlocksSet)):
            step.before = capture_order(self.design)
        op.apply(self.design)
        step.ops.append(op)

    def _set(self, node_id: str, key: str, value: Any) -> None:
        old = self.design.node(node_id)[key]
        self._do(AttrSet(node_id, key, copy.deepcopy(old), copy.deepcopy(value)))

    def _unwire(self, dst: str, dst_port: str) -> None:
        source = self.design.inputs_of(dst).get(dst_port)
        if source is not None:
            self._do(WireRemoved((source[0], source[1], dst, dst_port)))

    def _remove_node(self, node_id: str) -> None:
        for dst_port, (src, src_port) in list(self.design.inputs_of(node_id).items()):
            self._do(WireRemoved((src, src_port, node_id, dst_port)))
        for src_port, dst, dst_port in self.design.outputs_of(node_id):
            self._do(WireRemoved((node_id, src_port, dst, dst_port)))
        attrs = copy.deepcopy(dict(self.design.node(node_id)))
        self._do(NodeRemoved(node_id, attrs))

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

    def _fragment(self, nodes: Iterable[str]) -> Fragment:
        chosen = [n for n in dict.fromkeys(nodes) if n in self.design]
        inside = set(chosen)
        values = {}
        for n in chosen:  # what expressions evaluate to here, for a paste where they cannot
            exprs = [k for k, v in self.design.node(n)["params"].items() if is_expr(v)]
            info = self.report.nodes.get(n) if exprs else None
            if info is not None:
                values[n] = {k: info.values[k] for k in exprs if k in info.values}
        return Fragment(
            [(n, copy.deepcopy(dict(self.design.node(n)))) for n in chosen],
            [w for w in self.design.edges() if w[0] in inside and w[2] in inside],
            values,
        )

    def _fit(self, node_id: str, attrs: dict[str, Any], fragment: Fragment) -> dict[str, Any]:
        """A copied node as the shown design can hold it: expressions reading names it lacks
        become their values where known (else defaults), and a condition stays only with
        its names and its one input wire."""
        names = self._expr_names()
        values = fragment.values.get(node_id, {})
        params = {}
        for key, value in attrs["params"].items():
            if not is_expr(value) or _reads_only(value["expr"], names):
                params[key] = value
            elif key in values:
                params[key] = copy.deepcopy(values[key])
        fitted = {**attrs, "params": params}
        wired = sum(w[2] == node_id for w in fragment.wires)
        if "when" in fitted and (wired != 1 or not _reads_only(fitted["when"], names)):
            del fitted["when"]
        return fitted

    def _expr_names(self) -> set[str]:
        """The names an expression may read here: none at the top level."""
        if not self.scope:
            return set()
        return {p.name for p in self.root.blocks[self.scope[-1][1]].params} | set(IMPLICIT)

    def _insert(self, fragment: Fragment, at: tuple[float, float] | None, verb: str) -> list[str]:
        if not fragment.nodes:
            return []
        xs = [attrs["pos"][0] for _, attrs in fragment.nodes]
        ys = [attrs["pos"][1] for _, attrs in fragment.nodes]
        dx, dy = (at[0] - min(xs), at[1] - min(ys)) if at is not None else PASTE_OFFSET
        fresh: dict[str, str] = {}
        with self._transaction(f"{verb} {len(fragment)} node{'s' * (len(fragment) != 1)}"):
            for old_id, attrs in fragment.nodes:
                new_id = fresh[old_id] = self.design.new_id(re.sub(r"_\d+$", "", old_id))
                moved = copy.deepcopy(self._fit(old_id, attrs, fragment))
                moved["pos"] = _pos((attrs["pos"][0] + dx, attrs["pos"][1] + dy), 1e9 - 1)
                if attrs["label"] == old_id:
                    moved["label"] = new_id
                self._do(NodeAdded(new_id, moved))
            for src, src_port, dst, dst_port in fragment.wires:
                self._do(WireAdded((fresh[src], src_port, fresh[dst], dst_port)))
        return list(fresh.values())

    def _need(self, node_id: str) -> dict[str, Any]:
        if node_id not in self.design:
            raise EditRefused(f"there is no node {node_id!r}", "it may have been deleted")
        return self.design.node(node_id)

    def _spec(self, block_type: str):
        try:
            return self.design.spec(block_type)
        except UnknownBlockError:
            known = [s.name for s in REGISTRY] + list(self.design.blocks)
            close = difflib.get_close_matches(block_type, known, n=1)
            hint = f"did you mean {close[0]}?" if close else "pick a block from the palette"
            raise EditRefused(f"unknown block type {block_type!r}", hint) from None

    def _param(self, node_id: str, name: str):
        spec = self._spec(self._need(node_id)["type"])
        param = spec.param_index.get(name)
        if param is None:
            known = ", ".join(spec.param_index) or "none"
            raise EditRefused(f"{spec.name} has no parameter {name!r}", f"known: {known}")
        return param

    def _coerce(self, spec, where: str, name: str, value: Any) -> Any:
        param = spec.param_index.get(name)
        if param is None:
            known = ", ".join(spec.param_index) or "none"
            raise EditRefused(f"{spec.name} has no parameter {name!r}", f"known: {known}")
        try:
            clean = param.coerce(value)
        except ParamError as exc:
            raise EditRefused(f"{where}: {exc.message}", exc.hint) from None
        if any(isinstance(v, int) and abs(v) >= MAX_INT for v in _flat(clean)):
            raise EditRefused(f"{where}: {name} is too large", f"give less than {MAX_INT:.0e}")
        return clean


def _pos(pos: tuple[float, float], limit: float = MAX_POS) -> tuple[float, float]:
    """A canvas position as files hold it (2 decimals), refused when off any canvas they hold."""
    x, y = float(pos[0]), float(pos[1])
    if not (abs(x) <= limit and abs(y) <= limit):  # NaN fails too
        raise EditRefused(f"position ({x:g}, {y:g}) is off the canvas", "place it nearer")
    return round(x, 2), round(y, 2)


def _flat(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _reads_only(text: str, names: set[str]) -> bool:
    """True when an expression parses and reads nothing but ``names``."""
    try:
        return names_in(text) <= names
    except ExprError:
        return False


def _nesting_refused(label: str, problem: str) -> EditRefused:
    """The loader's nesting problem, said of an edit that would cause it."""
    what = problem.split(";")[0]
    if "contains itself" in what:
        what = what.replace(" contains", " would contain", 1)
        return EditRefused(
            f"{label}: {what}", "a block cannot contain itself, directly or through other blocks"
        )
    what = what.replace("blocks nest", "blocks would nest", 1)
    return EditRefused(f"{label}: {what}", "flatten some of them first")


def _redefined(block: CompositeDef, body: Design) -> CompositeDef:
    """A new definition (with empty memos) of ``block`` with this body."""
    return CompositeDef(block.name, body, block.params, block.category, block.doc)


def _users(blocks: Mapping[str, CompositeDef], name: str) -> set[str]:
    """The blocks that use block ``name``, directly or through others."""
    uses = block_uses(blocks)
    found: set[str] = set()
    todo = [name]
    while todo:
        used = todo.pop()
        for user, inner in uses.items():
            if used in inner and user not in found and user != name:
                found.add(user)
                todo.append(user)
    return found


def block_types(design: Design | None = None) -> list[BlockSpec]:
    """Every block type a design can use: the registry's, then the design's own composites."""
    local = [] if design is None else [b.spec for b in design.blocks.values()]
    return [*REGISTRY, *local]


def find_blocks(query: str, design: Design | None = None) -> list[BlockSpec]:
    """Block types matching what a user typed, best first.

    Exact name, then name prefix, then a part of the name, then a word of the category or doc,
    then close spellings (``conv2`` finds Conv2d, ``relu`` finds ReLU, ``upsampl`` Upsample).
    """
    words = query.strip().lower()
    specs = block_types(design)
    if not words:
        return specs
    ranked = []
    for order, spec in enumerate(specs):
        name = spec.name.lower()
        if name == words:
            rank = 0
        elif name.startswith(words):
            rank = 1
        elif words in name:
            rank = 2
        elif words in spec.category.lower() or words in spec.doc.lower():
            rank = 3
        else:
            continue
        ranked.append((rank, order, spec))
    found = [spec for _, _, spec in sorted(ranked, key=lambda r: r[:2])]
    if not found:
        names = {s.name.lower(): s for s in specs}
        found = [names[n] for n in difflib.get_close_matches(words, names, n=5, cutoff=0.6)]
    return found
