"""The live model: a design as a ``torch.nn.Module``, built from the same plan as the code.

:func:`build` registers exactly the attributes and containers the generated source declares
(``inc``, ``down1.pool_conv.1.double_conv.0``, ...), so ``state_dict`` keys match and weights
move between the two with ``strict=True``. Its forward walks the plan's steps; the same walk with a
capture dict records every node's output (composite inner nodes as ``up1/conv``) for previews.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
from torch import nn

from designer.core.graph import Design
from designer.core.tensor import FLOATING
from designer.core.validate import Report
from designer.core.walk import Visit, walk
from designer.live.devices import resolve_device, tag_devices
from designer.live.inputs import example_tensor, token_bound
from designer.live.layers import module_class
from designer.live.ops import bind
from designer.live.plan import Plan, PlanError, make_plan
from designer.live.plan_types import Scope, Slot
from designer.live.repeat import is_repeated, repeated

__all__ = ["LiveModel", "PlanError", "build", "resolve_device"]


class _ScopeModule(nn.Module):
    """A model or composite block: the plan's slots as submodules, its steps as the forward.

    Values live in a list indexed per ``(node, port)`` and are dropped after their last use, as
    the generated code's reused variables are; steps whose result reaches no Output run only when
    capturing.
    """

    def __init__(
        self,
        scope: Scope,
        plan: Plan,
        body: Design,
        report: Report,
        devices: Mapping[str, torch.device] | None = None,
    ) -> None:
        super().__init__()
        visits = {v.node: v for v in walk(body, report)}
        for slot in scope.slots:
            if slot.kind != "flag":  # a flag is read by the code only: here, the body tells
                self.add_module(slot.attr, _slot_module(slot, plan, visits))
        index: dict[tuple[str, str], int] = {}

        def at(key: tuple[str, str]) -> int:
            return index.setdefault(key, len(index))

        devices = devices or {}
        self._input_names = tuple(var for _, var in scope.inputs)
        self._input_nodes = tuple(node for node, _ in scope.inputs)
        self._inputs = tuple(at((node, "out")) for node in self._input_nodes)
        self._entry = _entry_moves(scope, devices)
        self._parts = {
            part_key(s): self._modules[s.slot][slice(*s.part)] for s in scope.steps if s.part
        }  # slices of a Sequential cut by placement: plain entries, the members registered once
        program = [_compile_step(step, visits, at, devices) for step in scope.steps]
        alive = [p for p, step in zip(program, scope.steps, strict=True) if not step.dead]
        self._returns = tuple(at(body.inputs_of(o)["in"]) for o in scope.outputs)
        self._program = _with_frees(alive, self._returns)
        self._capturing = tuple((*p, ()) for p in program)  # keeps every value: dead steps last
        self._output_nodes = tuple(scope.outputs)
        self._size = len(index)

    def forward(self, *inputs: torch.Tensor) -> Any:
        return self._run(inputs, None, "")

    def _run(self, inputs: tuple, capture: dict | None, prefix: str) -> Any:
        if len(inputs) != len(self._inputs):
            raise TypeError(
                f"{type(self).__name__} takes {len(self._inputs)} inputs "
                f"({', '.join(self._input_names)}), got {len(inputs)}"
            )
        env: list[Any] = [None] * self._size
        inputs = _moved(list(inputs), self._entry)
        for i, value in zip(self._inputs, inputs, strict=True):
            env[i] = value
        if capture is not None:
            for node, value in zip(self._input_nodes, inputs, strict=True):
                capture[prefix + node] = value
        program = self._program if capture is None else self._capturing
        for attr, op, args, moves, outs, nodes, branches, names, frees in program:
            values = _moved([env[a] for a in args], moves)
            if branches:
                result = op(self._branches(attr, branches, values, capture, prefix))
            elif op is not None:
                result = op(values)
            elif capture is None:
                result = _invoke(self._module(attr), values, names)
            else:
                module = self._module(attr)
                result = _capture_module(module, nodes, values, capture, prefix, names)
            if len(outs) == 1:
                env[outs[0]] = result
            else:
                for i, value in zip(outs, result, strict=True):
                    env[i] = value
            for i in frees:
                env[i] = None
            if capture is not None and op is not None:
                capture[prefix + nodes[-1]] = result
        returned = tuple(env[i] for i in self._returns)
        if capture is not None:
            for node, value in zip(self._output_nodes, returned, strict=True):
                capture[prefix + node] = value
        return returned[0] if len(returned) == 1 else returned

    def _module(self, attr: str) -> nn.Module:
        """A slot's module, or the slice of one that a step runs."""
        part = self._parts.get(attr)
        return self._modules[attr] if part is None else part

    def _branches(self, attr, branches, values, capture, prefix) -> list:
        """The outputs of a ModuleDict/ModuleList slot's branches, all fed the same input (moved
        in, and each output back to the merge's device, over the cut wires of a placed model)."""
        container = self._modules[attr]
        outputs = []
        for key, nodes, into, back in branches:
            args = values if into is None else [v.to(into) for v in values]
            if capture is None:
                output = container[key](*args)
            else:
                output = _capture_module(container[key], nodes, args, capture, prefix)
            outputs.append(output if back is None else output.to(back))
        return outputs


def _first(values: list) -> Any:
    return values[0]


def _invoke(module: nn.Module, values: list, names: tuple[str, ...]) -> Any:
    """Call ``module`` on ``values``, the last ``len(names)`` of them by those keywords."""
    if not names:
        return module(*values)
    n = len(names)
    return module(*values[:-n], **dict(zip(names, values[-n:], strict=True)))


def _capture_module(
    module: nn.Module, nodes, values, capture: dict, prefix: str, names: tuple = ()
) -> Any:
    """Run one slot's module recording each node's output (a Sequential member by member)."""
    if isinstance(module, nn.Sequential) and not is_repeated(module):
        (value,) = values
        for node, member in zip(nodes, module, strict=True):
            value = _call(member, (value,), capture, f"{prefix}{node}/")
            capture[prefix + node] = value
        return value
    active = getattr(module, "_designer_node", nodes[0])
    value = _call(module, values, capture, f"{prefix}{active}/", names)
    if not isinstance(module, nn.Identity):
        capture[prefix + active] = value
    return value


def _call(module: nn.Module, values, capture: dict, prefix: str, names: tuple = ()) -> Any:
    if isinstance(module, _ScopeModule):
        return module._run(tuple(values), capture, prefix)
    return _invoke(module, values, names)


class LiveModel(_ScopeModule):
    """The whole design as a module. ``forward_capture`` also returns every node's output."""

    def __init__(self, plan: Plan, devices: Mapping[str, torch.device] | None = None) -> None:
        super().__init__(plan.model, plan, plan.design, plan.report, devices)
        self.plan = plan

    def place(self, devices: Mapping[str, torch.device]) -> LiveModel:
        """Move each top-level submodule (each member, in a Sequential cut by placement) to the
        device of its placement tag."""
        for attr, tags in self.plan.model.placement.slots.items():
            module = self._modules[attr]
            if len(set(tags)) == 1:
                module.to(devices[tags[0]])
                continue
            for member, tag in zip(module.children(), tags, strict=True):
                member.to(devices[tag])
        return self

    def forward_capture(
        self, *inputs: torch.Tensor, into: dict | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """The outputs and a dict node id -> output (inner nodes of blocks as ``up1/conv``).

        Values are stored in execution order as each node finishes; ``into`` may be a dict
        subclass that acts on each store (the runner's per-node timer does).
        """
        capture: dict[str, Any] = {} if into is None else into
        return self._run(inputs, capture, ""), capture

    def example_inputs(self, batch: int = 1, dtype: torch.dtype | None = None) -> tuple:
        """Random inputs of the validated specs (the batch dimension set to ``batch``): floats
        standard normal (``dtype`` overrides theirs), token ids below the vocabulary they feed."""
        device = next((p.device for p in self.parameters()), torch.device("cpu"))
        inputs = []
        for node in self._input_nodes:
            spec = self.plan.report.nodes[node].out_specs[0]
            shape = [batch if d is None else d for d in spec.shape]
            kind = spec.dtype
            if dtype is not None and kind in FLOATING:
                kind = str(dtype).removeprefix("torch.")
            high = token_bound(self.plan.design, node)
            inputs.append(example_tensor(shape, kind, high=high, device=device))
        return tuple(inputs)


def _compile_step(step, visits: dict[str, Visit], at, devices: Mapping) -> tuple:
    """A step as a tuple the forward loop unpacks quickly (values as list indices, moves as
    (argument position, device) pairs)."""
    op = None
    names = tuple(k for k in step.keywords if k is not None)
    if step.gate and step.last not in visits:  # condition false: the first input flows on
        op = _first
    elif step.functional or step.parallel:
        merge = visits[step.last]
        op = bind(merge.spec.functional, merge.values, names)
    args = tuple(at(k) for k in step.arg_keys)
    moves = _placed_moves(enumerate(step.moves), devices)
    branches = tuple(
        (int(k) if k.isdigit() else k, nodes, into, back)
        for (k, nodes), (into, back) in zip(
            step.branches, _branch_devices(step, devices), strict=True
        )
    )
    attr = part_key(step) if step.part else step.slot
    outs = tuple(at(k) for k in step.out_keys)
    if step.rest and op is not None:  # keep the results the ports name (a Split in a block's body)
        op = partial(_head, op, len(outs))
    return (attr, op, args, moves, outs, step.nodes, branches, names)


def _head(op, count: int, values):
    return tuple(op(values))[:count]


def _branch_devices(step, devices: Mapping) -> list[tuple]:
    """Per branch, the devices its input moves to and its output moves back to (None: stays)."""
    if not devices or not step.branch_moves:
        return [(None, None)] * len(step.branches)
    return [(devices.get(into), devices.get(back)) for into, back in step.branch_moves]


def part_key(step) -> str:
    """``features[2:4]``: the key of the slice of a Sequential slot that a step runs."""
    return f"{step.slot}[{step.part[0]}:{step.part[1]}]"


def _placed_moves(tags, devices: Mapping) -> tuple:
    """(position, device) for each tagged position; none when the model is built unplaced."""
    return tuple((k, devices[tag]) for k, tag in tags if tag is not None and devices)


def _entry_moves(scope: Scope, devices: Mapping) -> tuple:
    """The inputs that move to their tag's device as the forward starts."""
    if scope.placement is None:
        return ()
    tags = scope.placement.inputs
    return _placed_moves(((k, tags.get(var)) for k, (_, var) in enumerate(scope.inputs)), devices)


def _moved(values: list, moves: tuple) -> list:
    for k, device in moves:
        values[k] = values[k].to(device)
    return values


def _with_frees(program: list[tuple], keep: tuple[int, ...]) -> tuple:
    """Each step with the values to drop after it: those it reads for the last time."""
    last: dict[int, int] = {}
    for k, (_, _, args, *_) in enumerate(program):
        for i in args:
            last[i] = k
    frees: list[list[int]] = [[] for _ in program]
    for i, k in last.items():
        if i not in keep:
            frees[k].append(i)
    return tuple((*p, tuple(f)) for p, f in zip(program, frees, strict=True))


def _slot_module(slot: Slot, plan: Plan, visits: dict[str, Visit]) -> nn.Module:
    """The module for a slot, from concrete values of this body (the model or one instance)."""
    if slot.kind == "dict":
        return nn.ModuleDict({e.attr: _slot_module(e, plan, visits) for e in slot.entries})
    if slot.kind == "list":
        return nn.ModuleList(_slot_module(e, plan, visits) for e in slot.entries)
    if slot.kind == "sequential":
        return nn.Sequential(*(_node_module(visits[n], plan) for n in slot.nodes))
    if slot.kind == "optional":
        return _node_module(visits[slot.nodes[0]], plan) if slot.nodes[0] in visits else None
    if slot.kind == "choice":
        active = [n for n in slot.nodes if n in visits]
        if not active:
            return nn.Identity()
        module = _node_module(visits[active[0]], plan)
        module._designer_node = active[0]
        return module
    return _node_module(visits[slot.nodes[0]], plan)


_CLASSES: dict[str, type] = {}


def _node_module(visit: Visit, plan: Plan, *, copy: bool = False) -> nn.Module:
    """One node's module: a torch layer from the registry, or a composite block instance; a
    repeated node's is a Sequential of its copies."""
    if not copy and visit.info.repeat is not None:
        return repeated(visit, lambda v: _node_module(v, plan, copy=True))
    spec = visit.spec
    if spec.torch is not None:
        positional, keywords = spec.torch.args(visit.values, visit.in_shapes)
        return module_class(spec.torch, visit.values)(*positional, **keywords)
    block = plan.classes[spec.name]
    cls = _CLASSES.get(block.name)
    if cls is None:  # named like the generated class, so that printing the model reads alike
        cls = _CLASSES[block.name] = type(block.name, (_ScopeModule,), {"__doc__": block.doc})
    return cls(block.scope, plan, *visit.body())


def build(
    design: Design,
    device: str | torch.device = "auto",
    input_shapes: Mapping[str, tuple] | None = None,
    *,
    placed: bool | None = None,
) -> LiveModel:
    """The design as a live ``nn.Module`` on ``device`` (``auto``: CUDA when available, else CPU).

    A placed design's top-level parts go to their tags' devices (untagged ones to ``device``) and
    its values move at cut wires only. ``placed=False`` builds it whole on ``device`` without a
    move (as the ONNX export does); by default a build on ``meta`` (shapes only) is not placed.

    Raises :class:`~designer.live.plan.PlanError` (a ``ValueError``) listing the issues of an
    invalid design, and ``ValueError`` for an unusable device.
    """
    target = resolve_device(device)
    plan = make_plan(design, input_shapes)
    placement = plan.model.placement
    if placed is None:
        placed = target.type != "meta"
    if placement is None or not placed:
        return LiveModel(plan).to(target)
    devices = tag_devices(design, placement.devices, target)
    return LiveModel(plan, devices).place(devices)
