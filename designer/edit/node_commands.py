"""Commands on the nodes and wires of the shown design: add, connect, set, move, delete."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from designer.blocks import BlockSpec, UnknownBlockError
from designer.core import layout
from designer.core.graph import Design
from designer.core.params import Param, ParamError
from designer.core.paramtext import from_text
from designer.edit.editor_core import EditorCore, canvas_pos
from designer.edit.history import AttrSet, NodeAdded, NodeRemoved, WireAdded, WireRemoved
from designer.edit.refused import EditRefused

MAX_INT = 10**18  # integer parameter values a command accepts (files hold them as text)
MAX_LABEL = 64  # characters in a node's label


@dataclass(frozen=True)
class Ports:
    """A node's input and output port names as the canvas shows them."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


class NodeCommands(EditorCore):
    """Adding, wiring, configuring, moving, renaming and deleting nodes."""

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
        outputs = spec.outputs if spec.output_count is None else self._outputs(node_id, spec)[0]
        extra_out = tuple(sorted(outputs_used - set(outputs), key=lambda p: (len(p), p)))
        return Ports(inputs + extra_in, outputs + extra_out)

    def _outputs(self, node_id: str, spec: BlockSpec) -> tuple[tuple[str, ...], bool]:
        """The output ports of a block whose parameters set them, and whether they are known:
        validation's, else (inside a command, or while the node is invalid) its parameters'."""
        info = self.report.nodes.get(node_id) if self._current is None else None
        if info is not None:
            return info.ports, True
        return spec.output_ports(spec.resolve(self.design.node(node_id)["params"])[0]), False

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
            values[name] = _coerce(spec, block_type, name, value)
        node_id = self.design.new_id(block_type)
        attrs = {
            "type": block_type,
            "params": values,
            "label": _checked_label(node_id, label) if label is not None else node_id,
            "pos": canvas_pos(pos),
        }
        with self._transaction(f"Add {block_type}"):
            self._do(NodeAdded(node_id, attrs))
        return node_id

    def add_wired(
        self,
        block_type: str,
        pos: tuple[float, float],
        source: tuple[str, str] | None = None,
        target: tuple[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """Add a block (``params`` set) already wired (one undo step): output ``source`` (node,
        port) feeds its first input, or its first output feeds input ``target`` (node, port)."""
        with self._transaction(f"Add {block_type}"):
            node_id = self.add_node(block_type, pos, params)
            ports = self.ports(node_id)
            if source is not None and ports.inputs:
                self.connect(source[0], source[1], node_id, ports.inputs[0])
            if target is not None and ports.outputs:
                self.connect(node_id, ports.outputs[0], target[0], target[1])
        return node_id

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> None:
        """Wire an output to an input; a wired input is rewired. Refuses wires closing a loop."""
        self._need(src), self._need(dst)
        if src_port not in self.ports(src).outputs and not self._may_output(src, src_port):
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
        clean = _coerce(self._spec(data["type"]), node_id, name, value)
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
            new = canvas_pos(pos)
            if self._need(node_id)["pos"] != new:
                changed[node_id] = new
        if not changed:
            return
        what = next(iter(changed)) if len(changed) == 1 else f"{len(changed)} nodes"
        with self._transaction(f"Move {what}"):
            for node_id, pos in changed.items():
                self._set(node_id, "pos", pos)

    def auto_layout(self, sizes: Mapping[str, tuple[float, float]] | None = None) -> None:
        """Arrange every node in columns, left to right, skip wires in lanes of their own, as
        one undoable move; ``sizes`` are the nodes' drawn sizes (else estimated)."""
        scratch = Design()
        scratch.graph = self.design.graph.copy()
        layout.auto_layout(scratch, sizes=sizes)
        self.move({n: scratch.node(n)["pos"] for n in scratch.node_ids()})

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
        label = _checked_label(node_id, label)
        if self.design.node(node_id)["label"] != label:
            with self._transaction(f"Rename {node_id}"):
                self._set(node_id, "label", label)

    # -- primitive steps ------------------------------------------------------------------------
    def _set(self, node_id: str, key: str, value: Any) -> None:
        old = self.design.node(node_id).get(key)
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

    def _may_output(self, node_id: str, port: str) -> bool:
        """Whether ``port`` may be an output of a block whose parameters and input set its
        outputs, while they are not known (validation then says whether it is)."""
        try:
            spec = self.design.spec(self.design.node(node_id)["type"])
        except UnknownBlockError:
            return False
        if spec.output_count is None or port not in spec.port_sets[1]:
            return False
        return not self._outputs(node_id, spec)[1]

    def _param(self, node_id: str, name: str) -> Param:
        """The parameter ``name`` of a node's block type, refused when it has none."""
        return _param_of(self._spec(self._need(node_id)["type"]), name)


def _param_of(spec: BlockSpec, name: str) -> Param:
    param = spec.param_index.get(name)
    if param is None:
        known = ", ".join(spec.param_index) or "none"
        raise EditRefused(f"{spec.name} has no parameter {name!r}", f"known: {known}")
    return param


def _coerce(spec: BlockSpec, where: str, name: str, value: Any) -> Any:
    """``value`` as parameter ``name`` holds it, refused (naming ``where``) when it cannot."""
    try:
        clean = _param_of(spec, name).coerce(value)
    except ParamError as exc:
        raise EditRefused(f"{where}: {exc.message}", exc.hint) from None
    if any(isinstance(v, int) and abs(v) >= MAX_INT for v in _flat(clean)):
        raise EditRefused(f"{where}: {name} is too large", f"give less than {MAX_INT:.0e}")
    return clean


def _checked_label(node_id: str, label: str) -> str:
    """A label as typed, trimmed; refused when empty, too long or not valid text."""
    label = label.strip()
    if not label:
        raise EditRefused(f"{node_id}: a label cannot be empty", "type a short name")
    if len(label) > MAX_LABEL:
        raise EditRefused(f"{node_id}: a label has at most {MAX_LABEL} characters", "shorten it")
    try:
        label.encode("utf-8")
    except UnicodeEncodeError:
        raise EditRefused(f"{node_id}: the label is not valid text", "retype it") from None
    return label


def _flat(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)
