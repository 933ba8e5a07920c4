"""One composite for bodies that differ in optional nodes: ResNet's ``BasicBlock`` with and without
its ``downsample`` branch is one block whose branch nodes carry ``when: use_downsample``.

A composite node whose ``when`` is false is bypassed (its one input flows to its consumers), so
variants merge when every variant equals the union of them all with its missing nodes bypassed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from designer.interop.importer.ir import Body, Op, Ref


@dataclass
class Union:
    """The merged body: ops in order (inputs as in the fullest variant), the condition of each
    optional op, and each condition's value per variant."""

    ops: list[Op]
    outputs: list[tuple[str, Ref]]
    when: dict[str, str]  # op id -> flag name
    flags: dict[str, list[bool]]  # flag name -> per variant


def _merged_order(variants: list[Body]) -> list[str]:
    """Op ids of every variant, each variant's order kept."""
    order: list[str] = []
    for body in variants:
        last = -1
        for op in body.ops:
            if op.id in order:
                last = order.index(op.id)
            else:
                order.insert(last + 1, op.id)
                last += 1
    return order


def _signature(op: Op) -> tuple:
    block = op.child.block if op.child is not None else op.block
    return block, tuple(sorted(op.values)), op.repeat, op.ports


class _Merger:
    def __init__(self, variants: list[Body]) -> None:
        self.variants = variants
        self.present = [{op.id: op for op in body.ops} for body in variants]
        self.chosen: dict[str, list[Ref]] = {}

    def _bypass(self, ref: Ref, present: dict[str, Op]) -> Ref:
        """Where ``ref`` comes from in a variant that lacks some ops."""
        while ref[0] in self.chosen and ref[0] not in present:
            ref = self.chosen[ref[0]][0]
        return ref

    def _fits(self, refs: list[Ref], present: dict[str, Op], want: list[Ref]) -> bool:
        return [self._bypass(r, present) for r in refs] == list(want)

    def choose(self, op_id: str) -> bool:
        """Pick the op's wiring that every variant having it agrees with after bypasses."""
        having = [p for p in self.present if op_id in p]
        for candidate in (p[op_id].inputs for p in having):
            if all(self._fits(candidate, p, p[op_id].inputs) for p in having):
                self.chosen[op_id] = list(candidate)
                return True
        return False


def _common_start(texts: list[str]) -> str:
    """The longest text every one of ``texts`` starts with."""
    first, last = min(texts), max(texts)
    size = next(
        (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first)
    )
    return first[:size]


def _flag_name(op_ids: list[str], taken: set[str]) -> str:
    stem = _common_start(op_ids).rstrip("_0123456789") or op_ids[0]
    name, i = f"use_{stem}", 2
    while name in taken:
        name, i = f"use_{stem}_{i}", i + 1
    taken.add(name)
    return name


def merge_variants(variants: list[Body]) -> Union | None:
    """The union of one representative body per variant, or None when they do not merge."""
    ports = {tuple(p for p, _ in body.inputs) for body in variants}
    outs = {tuple(p for p, _ in body.outputs) for body in variants}
    if len(ports) != 1 or len(outs) != 1:
        return None
    merger = _Merger(variants)
    order = _merged_order(variants)
    ops: list[Op] = []
    patterns: dict[tuple[bool, ...], list[str]] = {}
    for op_id in order:
        having = [p[op_id] for p in merger.present if op_id in p]
        if len({_signature(op) for op in having}) != 1 or not merger.choose(op_id):
            return None
        pattern = tuple(op_id in p for p in merger.present)
        if not all(pattern):
            if len(having[0].inputs) != 1:
                return None  # only a one-input node can be bypassed
            patterns.setdefault(pattern, []).append(op_id)
        ops.append(replace(having[0], inputs=merger.chosen[op_id]))
    wants = [(present, [r for _, r in body.outputs]) for body, present in
             zip(variants, merger.present, strict=True)]  # fmt: skip
    outputs = next((w for _, w in wants if all(merger._fits(w, p, o) for p, o in wants)), None)
    if outputs is None:
        return None
    when, flags, taken = {}, {}, {op.id for op in ops}
    for pattern, op_ids in patterns.items():
        name = _flag_name(op_ids, taken)
        flags[name] = list(pattern)
        when.update(dict.fromkeys(op_ids, name))
    names = [p for p, _ in variants[0].outputs]
    return Union(ops, list(zip(names, outputs, strict=True)), when, flags)
