"""The module's weights under the live model's keys.

The live model and the generated code name their attributes after the design (``inc.double_conv.0``
where the seed had ``inc.double_conv.0``, but ``down1.pool_conv.1...`` where it had
``down1.maxpool_conv.1...``). The plan says where each node's module sits in its scope
(:meth:`~designer.live.plan_types.Scope.path_of`); a node inside a composite instance is found by
walking the scopes along its design path, and a copy of a repeated node is one more index
(``layers.2``). Each imported layer's tensors then move to that module's name.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from designer.core.graph import Design
from designer.core.validate import Report
from designer.interop.importer.ir import Body
from designer.interop.importer.livekeys import live_keys
from designer.live.plan import make_plan
from designer.live.plan_types import Plan

Segment = tuple[str, int | None]  # a node id, and the copy of a repeated node


class WeightsMismatch(RuntimeError):
    """The mapped weights do not cover the live model's keys exactly (a bug of the importer)."""


def layer_paths(body: Body, prefix: tuple = ()) -> Iterator[tuple[tuple[Segment, ...], object]]:
    """(design path, op) of every op that takes weights, composites and copies recursed into."""
    for op in body.ops:
        for index, copy in enumerate(op.copies or [op]):
            path = (*prefix, (op.id, index if op.copies else None))
            if copy.child is not None:
                yield from layer_paths(copy.child, path)
            elif copy.layer is not None or copy.tensors:
                yield path, copy


def module_name(plan: Plan, path: tuple[Segment, ...]) -> str:
    """The live model's name for the module of the node at ``path``."""
    scope, names = plan.model, []
    for node, copy in path:
        where = scope.path_of(node)
        if where is None:
            raise WeightsMismatch(f"the live model has no module for {node}")
        names.append(where if copy is None else f"{where}.{copy}")
        block = plan.classes.get(scope.design.node(node)["type"])
        if block is not None:
            scope = block.scope
    return ".".join(names)


def _owned(keys) -> dict[str, list[str]]:
    """Each module path -> the state-dict keys below it (the model's own under "")."""
    owned: dict[str, list[str]] = {"": list(keys)}
    for key in keys:
        parts = key.split(".")
        for i in range(1, len(parts)):
            owned.setdefault(".".join(parts[:i]), []).append(key)
    return owned


def _tensors(op, owned: dict[str, list[str]]) -> dict[str, str]:
    """The op's tensors: live leaf name -> the module's key."""
    if op.tensors:
        return dict(op.tensors)
    prefix = f"{op.layer}." if op.layer else ""
    return {key[len(prefix) :]: key for key in owned.get(op.layer or "", ())}


def remap_weights(
    module: nn.Module, root: Body, design: Design, report: Report | None = None
) -> tuple[dict, list[str]]:
    """The module's state dict under the live keys, and the module keys the design drops
    (weights of layers the forward never used). ``report``: the design's validation, if known."""
    plan = make_plan(design, report=report)
    expected = live_keys(plan)
    original = module.state_dict()
    owned = _owned(original)
    mapped: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for path, op in layer_paths(root):
        tensors = _tensors(op, owned)
        if not tensors:
            continue
        name = module_name(plan, path)
        for leaf, key in tensors.items():
            mapped[f"{name}.{leaf}"] = original[key]
        used.update(tensors.values())
    if set(mapped) != expected:
        missing = sorted(expected - set(mapped))[:5]
        extra = sorted(set(mapped) - expected)[:5]
        raise WeightsMismatch(f"weights do not line up: missing {missing}, unexpected {extra}")
    return mapped, sorted(set(original) - used)
