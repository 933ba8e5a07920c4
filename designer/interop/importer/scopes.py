"""Cut the flat traced graph back into one :class:`Body` per module call.

A body holds the nodes created while its module's ``forward`` ran (not those of the modules it
calls, which become child ops), wired by ``(node id, port)``: its Input ports are the tensor
arguments of the call, its Output ports what it returned. Layers are named after their attribute
path inside the module (``double_conv.0`` -> ``double_conv_0``), functional ops after their block.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import torch
from torch import fx

from designer.interop.importer.classify import Context
from designer.interop.importer.concats import share_prefixes
from designer.interop.importer.fallback import KEPT_BLOCK, Kept
from designer.interop.importer.ir import Body, Namer, Op, Ref
from designer.interop.importer.mapped import Alias, Block, Opaque, Pick
from designer.interop.importer.modules import layer_name
from designer.interop.importer.tracer import SCOPE, ScopeCall

_OP_NAMES = {"Add": "add", "Multiply": "mul", "Concat": "cat", "PadToMatch": "pad"}


class _Cutter:
    def __init__(self, ctx: Context, kept: dict[str, Kept] | None = None) -> None:
        self.ctx = ctx
        self.kept = kept or {}
        self.opaque: list[Opaque] = []
        self.missing: dict[tuple, str] = {}  # (scope, op id) -> why an output item has no port
        self.own: dict[int, list[fx.Node]] = defaultdict(list)
        self.kids: dict[int, list[ScopeCall]] = defaultdict(list)
        self.inlined = inlined_calls(ctx)
        for node in ctx.trace.graph.nodes:
            if node.op not in ("placeholder", "output"):
                self.own[self._home(node.meta[SCOPE])].append(node)
        for call in ctx.trace.scopes[1:]:
            if call.index not in self.inlined:
                self.kids[self._home(call.parent)].append(call)

    def _home(self, index: int) -> int:
        """The scope whose body holds what was made in scope ``index`` (its caller's when the
        call is written out in place)."""
        while index in self.inlined:
            index = self.ctx.trace.scopes[index].parent
        return index

    def body(self, call: ScopeCall) -> tuple[Body, list[fx.Node]]:
        """The body of one call, and the graph nodes its Input ports stand for."""
        body = Body(call.path, type(call.module), [])
        namer, refs, fed = Namer(), {}, []
        for port, node in call.inputs:
            if self.ctx.is_tensor(node) and node not in refs:
                name = namer.take(port, "x")
                value = self.ctx.values[node]
                body.inputs.append((name, tuple(value.shape)))
                if value.dtype != torch.float32:
                    body.dtypes[name] = str(value.dtype).removeprefix("torch.")
                refs[node] = (name, "out")
                fed.append(node)
        events = [(self.ctx.order[n], 1, n) for n in self.own[call.index]]
        events += [(kid.start, 0, kid) for kid in self.kids[call.index]]
        for _, is_node, item in sorted(events, key=lambda e: e[:2]):
            if is_node:
                self._node(body, call, item, refs, namer)
            else:
                self._child(body, call, item, refs, namer)
        outputs = call.outputs
        for i, value in enumerate(outputs, start=1):
            ref = self._resolve(value, refs, call, "returns")
            if ref is not None:
                body.outputs.append((namer.take("y" if len(outputs) == 1 else f"y{i}"), ref))
        share_prefixes(body)
        return body, fed

    def _resolve(self, value: Any, refs: dict, call: ScopeCall, use: str) -> Ref | None:
        """Where a value comes from in this body; None (and an opaque record) when nowhere."""
        if isinstance(value, fx.Node) and value in refs:
            ref = refs[value]
            if ref is None or isinstance(ref[1], str):
                return ref
            reason = "uses a tuple a layer returns as one tensor; unpack it and use its items"
            self.opaque.append(Opaque(call.path, use, reason, call.cls))
            return None
        if isinstance(value, fx.Node) and self.ctx.is_tensor(value):
            reason = "uses a tensor that is none of its inputs (kept on the module?)"
        else:
            reason = f"{use} {value!r} where a computed tensor is expected"
        self.opaque.append(Opaque(call.path, use, reason, call.cls))
        return None

    def _inputs(self, nodes: list, refs: dict, call: ScopeCall, what: str) -> list[Ref] | None:
        inputs = [self._resolve(n, refs, call, what) for n in nodes]
        return None if None in inputs else inputs

    def _node(self, body: Body, call: ScopeCall, node: fx.Node, refs: dict, namer: Namer):
        mapped = self.ctx.classify(node, call.path, call.cls)
        if isinstance(mapped, Opaque):
            self.opaque.append(mapped)
            refs[node] = None
        elif isinstance(mapped, Alias):
            source = self._inputs([mapped.source], refs, call, "passes on")
            refs[node] = source[0] if source else None
        elif isinstance(mapped, Pick):
            refs[node] = self._pick(node, mapped, refs, call)
        elif isinstance(mapped, Block):
            inputs = self._inputs(mapped.inputs, refs, call, mapped.block)
            if inputs is None:
                refs[node] = None
                return
            op_id = namer.take(self._op_name(call, mapped), snake(mapped.block))
            what = mapped.block if mapped.layer is None else _what(node, self.ctx)
            op = Op(op_id, mapped.block, mapped.params, inputs, what, mapped.layer)
            op.ports, op.tensors, op.shape = mapped.ports, mapped.tensors, self.ctx.shape(node)
            op.fed = mapped.inputs  # where its device is read (devices.py)
            body.ops.append(op)
            refs[node] = (op_id, mapped.outputs)
            self.missing[(call.index, op_id)] = mapped.missing

    def _pick(self, node: fx.Node, mapped: Pick, refs: dict, call: ScopeCall) -> Any:
        """The port (or nested ports) an item of a tuple output comes from; None when none."""
        source = refs.get(mapped.source)
        if source is None:
            return None
        op_id, tree = source
        item = tree[mapped.index] if isinstance(tree, tuple) else None
        if item is None and node.users:
            reason = self.missing.get((call.index, op_id)) or "no port of the block gives it"
            what = f"item {mapped.index} of {op_id}"
            self.opaque.append(Opaque(call.path, what, reason, call.cls))
        return None if item is None else (op_id, item)

    @staticmethod
    def _op_name(call: ScopeCall, mapped: Block) -> str:
        if mapped.layer is None:
            return _OP_NAMES.get(mapped.block, snake(mapped.block))
        return _relative(mapped.layer, call.path)

    def _child(self, body: Body, call: ScopeCall, kid: ScopeCall, refs: dict, namer: Namer):
        if kid.path in self.kept:
            self._kept(body, call, kid, refs, namer)
            return
        child, fed = self.body(kid)
        inputs = self._inputs(fed, refs, call, kid.cls)
        op_id = namer.take(_relative(kid.path, call.path), snake(kid.cls))
        shape = self.ctx.shape(kid.outputs[0]) if len(kid.outputs) == 1 else None
        body.ops.append(Op(op_id, "", {}, inputs or [], kid.cls, child=child, shape=shape))
        body.ops[-1].fed = fed  # where its device is read (devices.py)
        for (port, _), value in zip(child.outputs, kid.outputs, strict=False):
            if isinstance(value, fx.Node) and value not in refs:
                refs[value] = (op_id, port)
        for value in kid.outputs:  # what a failed body returns: its users fail silently
            if isinstance(value, fx.Node) and value not in refs:
                refs[value] = None

    def _kept(self, body: Body, call: ScopeCall, kid: ScopeCall, refs: dict, namer: Namer):
        """A module kept whole: one node constructing its class, fed its one tensor."""
        kept = self.kept[kid.path]
        fed = [node for _, node in kid.inputs]  # one tensor in the example run (its value
        if len(fed) > 1:  # may be unknown on the meta device: an op inside failed there)
            fed = [node for node in fed if self.ctx.is_tensor(node)]
        inputs = self._inputs(fed[:1], refs, call, kid.cls)
        op_id = namer.take(_relative(kid.path, call.path), snake(kid.cls))
        params = {"target": kept.target, "kwargs": kept.kwargs}
        op = Op(op_id, KEPT_BLOCK, params, inputs or [], kept.target, layer=kid.path)
        op.fed = fed[:1]  # where its device is read (devices.py)
        op.shape = self.ctx.shape(kid.outputs[0])
        body.ops.append(op)
        refs[kid.outputs[0]] = (op_id, "out")


def inlined_calls(ctx: Context) -> set[int]:
    """Calls written out in their caller's body: those of a class called with lists of tensors
    whose lengths differ between calls (DenseNet's ``_DenseLayer`` takes every feature map so
    far), which no one block with fixed ports can stand for."""
    counts: dict[type, set[int]] = defaultdict(set)
    listed: set[type] = set()
    for call in ctx.trace.scopes[1:]:
        cls = type(call.module)
        counts[cls].add(sum(1 for _, node in call.inputs if ctx.is_tensor(node)))
        if call.listed:
            listed.add(cls)
    varying = {cls for cls in listed if len(counts[cls]) > 1}
    for cls in varying:
        low, high = min(counts[cls]), max(counts[cls])
        ctx.notes.append(
            f"{cls.__name__} is called with lists of {low} to {high} tensors: no one block "
            "takes them all, so each call is written out in the module that makes it"
        )
    return {call.index for call in ctx.trace.scopes[1:] if type(call.module) in varying}


def _relative(path: str, scope: str) -> str:
    return path[len(scope) + 1 :] if scope and path.startswith(scope + ".") else path


def _what(node: fx.Node, ctx: Context) -> str:
    return layer_name(ctx.values.modules[node.target])


def snake(name: str) -> str:
    """``MaxPool2d`` -> ``max_pool2d``, ``LeakyReLU`` -> ``leaky_relu``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", name).lower()


def cut(ctx: Context, kept: dict[str, Kept] | None = None) -> tuple[Body, list[Opaque]]:
    """The model's body (children nested in its ops) and every opaque node found on the way;
    the modules ``kept`` (by path) are one node each."""
    cutter = _Cutter(ctx, kept)
    root, _ = cutter.body(ctx.trace.scopes[0])
    return root, cutter.opaque
