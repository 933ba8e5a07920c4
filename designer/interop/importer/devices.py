"""Where an imported model's parts sit: device moves read as wires, and device tags.

A move of a tensor to a device that keeps its dtype (``x.to(device)``, ``x.to(device=...)``,
``x.to(y.device)``, ``.cuda()``, ``.cpu()``, and the ATen calls torch.export records for them)
becomes no node: the wire goes straight through (:func:`moved_tensor`), and the device is read
back when the design is placed. When the model's weights sit on more than one device,
:func:`place` tags each top-level node of the design (placement is per instance, as in the
editor): a module's node takes the device of its weights, any other node the device its inputs
were moved to or made on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

import torch
from torch import fx, nn

from designer.core.graph import Design
from designer.core.placement import TAG
from designer.interop.importer.ir import Body, Op

A = torch.ops.aten
_KEYWORD_MOVES = (A.to.dtype_layout, A._to_copy.default)  # device and dtype by keyword
_FLAGS = ("non_blocking", "copy", "pin_memory")  # what a move may say besides where it goes
META_NOTE = (
    "weights on the meta device hold no values: the design and the weight names are imported "
    "(the state dict keeps meta tensors), but no output can be compared with the model's"
)

Values = Any  # what holds each node's example value: ``.get(node)`` (MetaValues)


def moved_tensor(node: fx.Node, values: Values) -> fx.Node | None:
    """The tensor ``node`` moves to another device without changing its dtype, else None."""
    move = device_move(node, values)
    return None if move is None else move[0]


def device_move(node: fx.Node, values: Values) -> tuple[fx.Node, Any] | None:
    """(the tensor, the device argument) of a move that keeps the dtype, else None."""
    asked = _request(node, values)
    if asked is None or not node.args or not isinstance(node.args[0], fx.Node):
        return None
    device, dtype = asked
    source = values.get(node.args[0])
    if device is None or not isinstance(source, torch.Tensor):
        return None
    return (node.args[0], device) if dtype is None or dtype == source.dtype else None


def _request(node: fx.Node, values: Values) -> tuple[Any, Any] | None:
    """(device, dtype) a move asks for, either None when not given; None when it is no move."""
    if node.op == "call_method" and node.target == "cpu" and len(node.args) == 1:
        return "cpu", None
    if node.op == "call_method" and node.target == "cuda":
        device = node.args[1] if len(node.args) > 1 else node.kwargs.get("device")
        return ("cuda" if device is None else device), None
    if (node.op, node.target) == ("call_method", "to") or node.target is A.to.device:
        return _to_arguments(node.args[1:], node.kwargs, values)
    if node.op == "call_function" and node.target in _KEYWORD_MOVES and len(node.args) == 1:
        return _to_arguments((), node.kwargs, values)
    return None


def _to_arguments(args: tuple, kwargs: dict, values: Values) -> tuple[Any, Any] | None:
    """What ``Tensor.to``'s arguments ask for: a device, a dtype, or another tensor's both."""
    if kwargs.get("memory_format") not in (None, torch.preserve_format):
        return None
    if kwargs.get("layout") not in (None, torch.strided):
        return None
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    for arg in args:
        value = values.get(arg) if isinstance(arg, fx.Node) else arg
        if isinstance(value, bool):
            continue  # non_blocking, copy
        if isinstance(value, torch.dtype):
            dtype = value
        elif isinstance(value, torch.Tensor):
            device, dtype = arg, value.dtype  # x.to(other): other's device and dtype
        elif isinstance(value, (str, int, torch.device)):
            device = arg
        else:
            return None
    if any(k not in (*_FLAGS, "device", "dtype", "layout", "memory_format") for k in kwargs):
        return None
    return device, dtype


def _device_name(device: Any) -> str | None:
    """``cuda:0`` for ``0``, ``torch.device('cpu')`` -> ``cpu``; None for what names none."""
    if isinstance(device, bool) or device is None:
        return None
    try:
        return str(torch.device(f"cuda:{device}" if isinstance(device, int) else device))
    except (RuntimeError, TypeError):
        return None


def _most(devices: Iterable[str]) -> str | None:
    """The device named most often, None when none is."""
    counted = Counter(devices)
    return counted.most_common(1)[0][0] if counted else None


def _weights(module: nn.Module) -> Iterator[torch.Tensor]:
    return chain(module.parameters(), module.buffers())


def model_devices(module: nn.Module) -> set[str]:
    """The devices the model's parameters and buffers sit on."""
    return {str(t.device) for t in _weights(module)}


def holds_meta(module: nn.Module) -> bool:
    """Whether some weight sits on the meta device (it has a shape but no values)."""
    return any(t.is_meta for t in _weights(module))


class _Devices:
    """The device of every traced value: where it was made, or where it was moved to."""

    def __init__(self, trace: Any, module: nn.Module, inputs: tuple) -> None:
        self.trace, self.module = trace, module
        self.found: dict[fx.Node, str] = {}
        self.mixed: list[str] = []  # top-level nodes whose weights sit on several devices
        given = iter(str(x.device) for x in inputs)
        for node in trace.graph.nodes:
            device = next(given, None) if node.op == "placeholder" else self._device(node)
            if device is not None:
                self.found[node] = device

    def _device(self, node: fx.Node) -> str | None:
        move = device_move(node, self.trace.values)
        if move is not None:
            return self.of(move[1])
        if node.op == "call_module":
            own = _most(str(t.device) for t in _weights(self.trace.values.modules[node.target]))
            if own is not None:
                return own
        if node.op == "get_attr":
            return self.held(node.target)
        if "device" in node.kwargs:  # torch.zeros(..., device=x.device)
            return self.of(node.kwargs["device"])
        return self.first(node.all_input_nodes)

    def of(self, device: Any) -> str | None:
        """A device argument's device: a constant, or a node (``y.device``, a tensor ``y``)."""
        if isinstance(device, fx.Node):
            return self.found.get(device)
        return _device_name(device)

    def first(self, nodes: Iterable[Any]) -> str | None:
        """The device of the first of ``nodes`` that has one."""
        return next((self.found[n] for n in nodes if n in self.found), None)

    def held(self, key: str) -> str | None:
        """The device of a tensor the model holds (``blocks.0.pos``)."""
        owner, _, name = key.rpartition(".")
        try:
            holder = self.module.get_submodule(owner)
        except AttributeError:
            return None
        tensor = getattr(holder, name, None)
        return str(tensor.device) if isinstance(tensor, torch.Tensor) else None

    def entry(self, placeholder: fx.Node) -> str | None:
        """Where an input goes: the device it is first moved to, else where it was given."""
        for user in placeholder.users:
            move = device_move(user, self.trace.values)
            if move is not None and move[0] is placeholder:
                return self.of(move[1])
        return self.found.get(placeholder)

    def op(self, op: Op) -> str | None:
        """A top-level node's device: where most of its weights sit (all its copies' for a
        repeat node), else where its inputs were moved to or made on."""
        found = [device for copy in op.copies or [op] for device in self._copy(copy)]
        if len(set(found)) > 1:
            self.mixed.append(op.id)
        return _most(found)

    def _copy(self, op: Op) -> list[str]:
        """The devices of the op's weights, else of its first input that has one."""
        path = op.child.path if op.child is not None else op.layer
        try:
            held = (
                [str(t.device) for t in _weights(self.module.get_submodule(path))] if path else []
            )
        except AttributeError:
            held = []
        held += [d for d in map(self.held, (op.tensors or {}).values()) if d is not None]
        first = self.first(op.fed)
        return held or ([] if first is None else [first])


def node_devices(
    root: Body, trace: Any, module: nn.Module, inputs: tuple
) -> tuple[dict[str, str], list[str]]:
    """Top-level node id -> the device it runs on (where one is known), and the nodes whose
    weights sit on several devices (each is placed where most of them are)."""
    devices = _Devices(trace, module, inputs)
    placeholders = [n for n in trace.graph.nodes if n.op == "placeholder"]
    fed = [n for n in placeholders if isinstance(trace.values.get(n), torch.Tensor)]
    placed = {port: devices.entry(node) for (port, _), node in zip(root.inputs, fed, strict=False)}
    placed |= {op.id: devices.op(op) for op in root.ops}
    returned = trace.scopes[0].outputs
    for (port, _), value in zip(root.outputs, returned, strict=False):
        placed[port] = devices.found.get(value) if isinstance(value, fx.Node) else None
    known = {node: device for node, device in placed.items() if device is not None}
    return known, devices.mixed


def place(design: Design, root: Body, trace: Any, module: nn.Module, inputs: tuple) -> list[str]:
    """Tag the design's top-level nodes with their devices when the model's weights sit on more
    than one; the notes to report (nodes placed by a neighbour, meta weights)."""
    spread = model_devices(module)
    notes = [META_NOTE] if "meta" in spread else []
    if len(spread) < 2:
        return notes
    placed, mixed = node_devices(root, trace, module, inputs)
    guessed = []
    for node_id in design.node_ids():
        device = placed.get(node_id) or _neighbour(design, node_id, placed)
        if device is None:
            continue
        if node_id not in placed:
            guessed.append(node_id)
        design.node(node_id)[TAG] = device
    listed = ", ".join(sorted(spread))
    notes.append(
        f"the model's weights sit on {listed}: each top-level node is tagged with its device"
    )
    for node_id in mixed:
        notes.append(
            f"{node_id} holds weights on several devices, but placement is per instance: the "
            f"design puts all of it on {placed[node_id]} (split the block to keep the cut)"
        )
    if guessed:
        notes.append(
            f"placed beside their neighbours (no device of their own): {', '.join(guessed)}"
        )
    return notes


def _neighbour(design: Design, node_id: str, placed: dict[str, str]) -> str | None:
    """The device of the node feeding ``node_id``, else of one it feeds."""
    edges = design.edges()
    before = [src for src, _, dst, _ in edges if dst == node_id and src in placed]
    after = [dst for src, _, dst, _ in edges if src == node_id and dst in placed]
    found = before or after
    return placed[found[0]] if found else None


def read_for_device(node: fx.Node, values: Values) -> bool:
    """Whether a tensor the model holds is read only for where it sits (``x.to(w.device)``,
    ``x.to(w)``): it needs no Parameter node."""
    users = list(node.users)
    return bool(users) and all(
        (user.op, user.target, user.args[1:]) == ("call_function", getattr, ("device",))
        or (device_move(user, values) or (None, None))[1] is node
        for user in users
    )
