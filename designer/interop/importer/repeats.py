"""Consecutive identical instances become one Repeat node: the transformer layers of an
``nn.Sequential``, a ResNet stage's blocks after the first.

A run is a chain of ops of one block type with the same parameters, each fed by the one before
only and feeding the next only, every op after the first keeping its input's shape (as a repeat
node's copies after the first must). It folds into one op with ``copies`` (``repeat: N`` in the
design), named after the container when it covers all of it (``layers_0`` ... ``layers_3`` ->
``layers``). The copies keep their layers, so the weights still map copy by copy.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from designer.core.registry import REGISTRY
from designer.core.repeat import repeatable
from designer.interop.importer.ir import Body, Op


def _kind(op: Op) -> tuple | None:
    """What an op computes, its parameters included; None when it cannot repeat."""
    if op.child is not None:
        child = op.child
        if len(child.inputs) != 1 or len(child.outputs) != 1:
            return None
        return ("child", child.block, repr(sorted(child.values.items())))
    spec = REGISTRY.get(op.block)
    if op.tensors or not repeatable(spec) or op.ports not in (None, spec.inputs[:1]):
        return None
    return ("block", op.block, repr(sorted(op.params.items())))


def _uses(body: Body) -> Counter:
    """How many inputs (of ops and of the body's outputs) read each op's outputs."""
    refs = [ref for op in body.ops for ref in op.inputs] + [ref for _, ref in body.outputs]
    return Counter(node for node, _ in refs)


def _runs(body: Body) -> list[list[Op]]:
    """The body's ops cut into runs (most of one op)."""
    uses, runs = _uses(body), []
    for op in body.ops:
        run = runs[-1] if runs else None
        kind = _kind(op)
        if (
            run is not None
            and kind is not None
            and _kind(run[0]) == kind
            and [node for node, _ in op.inputs] == [run[-1].id]
            and uses[run[-1].id] == 1
            and op.shape is not None
            and op.shape == run[-1].shape  # a copy after the first keeps its input's shape
        ):
            run.append(op)
        else:
            runs.append([op])
    return runs


def _name(run: list[Op], body: Body) -> str:
    """The container's name when the run is all of it, else the first copy's id."""
    stem = re.sub(r"_\d+$", "", run[0].id)
    members = {op.id for op in body.ops if re.fullmatch(rf"{re.escape(stem)}_\d+", op.id)}
    taken = {op.id for op in body.ops} | {p for p, _ in body.inputs} | {p for p, _ in body.outputs}
    if members == {op.id for op in run} and stem not in taken:
        return stem
    return run[0].id


def fold_repeats(body: Body) -> None:
    """Fold every run of two or more identical ops of ``body`` into one repeated op."""
    ops, renamed = [], {}
    for run in _runs(body):
        if len(run) == 1:
            ops.append(run[0])
            continue
        folded = replace(run[0], id=_name(run, body), copies=list(run))
        renamed[run[-1].id] = folded.id
        ops.append(folded)
    if not renamed:
        return
    for op in ops:
        op.inputs = [(renamed.get(node, node), port) for node, port in op.inputs]
    body.outputs = [(name, (renamed.get(node, node), port)) for name, (node, port) in body.outputs]
    body.ops = ops
