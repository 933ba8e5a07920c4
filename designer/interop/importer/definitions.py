"""Bodies of one module class -> one composite block definition (a :class:`Blueprint`).

Classes are defined inner first, so a body's child ops already know their block and parameter
values. Bodies that are alike up to constants share one block; bodies that also differ in
optional nodes share one block with ``when`` switches; bodies that differ otherwise get one block
each (``Block``, ``Block_2``...).
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from dataclasses import dataclass, field, replace

import networkx as nx

from designer.core.params import Param
from designer.core.registry import REGISTRY
from designer.interop.importer.declare import ABSENT, Declarer
from designer.interop.importer.ir import Body, Op, Ref
from designer.interop.importer.modules import Unsupported
from designer.interop.importer.repeats import fold_repeats
from designer.interop.importer.variants import merge_variants


@dataclass
class Blueprint:
    """A body ready to be written as a design: params are constants or ``{"expr": ...}``."""

    name: str
    doc: str
    inputs: list[tuple[str, tuple]]
    ops: list[Op]
    outputs: list[tuple[str, Ref]]
    params: tuple[Param, ...] = ()
    when: dict[str, str] | None = None
    instances: int = 1
    dtypes: dict[str, str] = field(default_factory=dict)  # the model's inputs that are not float32


def _skeleton(body: Body) -> tuple:
    ops = tuple(
        (op.id, op.child.block if op.child else op.block, tuple(sorted(op.values)), op.repeat,
         op.ports, *op.inputs)
        for op in body.ops
    )  # fmt: skip
    return tuple(p for p, _ in body.inputs), ops, tuple(body.outputs)


def _class_order(classes: dict[type, list[Body]]) -> list[type]:
    """Classes with the classes they contain first; a class inside itself is refused."""
    graph = nx.DiGraph()
    graph.add_nodes_from(classes)
    for cls, bodies in classes.items():
        for body in bodies:
            for op in body.ops:
                if op.child is not None:
                    graph.add_edge(op.child.cls, cls)
    try:
        return list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible:
        cycle = " -> ".join(c.__name__ for c, _ in nx.find_cycle(graph))
        raise Unsupported(f"module classes contain themselves ({cycle})") from None


def _unique_name(wanted: str, taken: set[str]) -> str:
    spec = REGISTRY.get(wanted) if wanted in REGISTRY else None
    base = wanted if spec is None or spec.composite is not None else f"{wanted}Block"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


class Definer:
    """Turns every non-root body into an instance of a composite block."""

    def __init__(self) -> None:
        self.params: dict[str, dict[str, Param]] = {}
        self.blueprints: list[Blueprint] = []
        self._names: set[str] = set()

    def spec(self, op: Op, name: str) -> Param:
        if op.child is not None:
            return self.params[op.child.block][name]
        return REGISTRY.get(op.block).param_index[name]

    def define(self, root: Body) -> list[Blueprint]:
        classes: dict[type, list[Body]] = defaultdict(list)
        for body in root.walk():
            if body is not root:
                classes[body.cls].append(body)
        for cls in _class_order(classes):
            for body in classes[cls]:
                fold_repeats(body)
            self._define_class(cls, classes[cls])
        fold_repeats(root)
        return self.blueprints

    def _define_class(self, cls: type, bodies: list[Body]) -> None:
        groups: dict[tuple, list[Body]] = defaultdict(list)
        for body in bodies:
            groups[_skeleton(body)].append(body)
        variants = list(groups.values())
        union = merge_variants([g[0] for g in variants]) if len(variants) > 1 else None
        if union is None:  # one block per variant (just one when all bodies are alike)
            for group in variants:
                self._blueprint(cls, group, group[0].ops, group[0].outputs, {}, {})
            return
        instances = [b for g in variants for b in g]
        flags = {
            name: [on for on, group in zip(per_variant, variants, strict=True) for _ in group]
            for name, per_variant in union.flags.items()
        }
        self._blueprint(cls, instances, union.ops, union.outputs, union.when, flags)

    def _blueprint(self, cls, instances, ops, outputs, when, flags) -> None:
        name = _unique_name(cls.__name__, self._names)
        declarer = Declarer(cls, instances, self.spec)
        for op in reversed(ops):
            for param in op.values:
                declarer.slot(op, param)
        renamed = {
            flag: declarer.flag(flag, per_instance, [o for o, f in when.items() if f == flag])
            for flag, per_instance in flags.items()
        }
        when = {op_id: renamed[flag] for op_id, flag in when.items()}
        written = [self._written_op(op, declarer) for op in ops]
        params = declarer.params()
        for i, body in enumerate(instances):
            body.block, body.values = name, declarer.values_of(i)
        self.params[name] = {p.name: p for p in params}
        own = cls.__dict__.get("__doc__") or ""  # not nn.Module's, which every class inherits
        doc = inspect.cleandoc(own).split("\n\n")[0].replace("\n", " ")
        inputs = [(p, ()) for p, _ in instances[0].inputs]
        self.blueprints.append(
            Blueprint(name, doc, inputs, written, outputs, params, when, len(instances))
        )

    @staticmethod
    def _written_op(op: Op, declarer: Declarer) -> Op:
        params = {}
        for param in op.values:
            bound = declarer.bound.get((op.id, param))
            if bound is not None:
                params[param] = {"expr": bound}
            else:
                defined = declarer.slot_values(op.id, param)
                params[param] = next(v for v in defined if v is not ABSENT)
        block = op.child.block if op.child is not None else op.block
        return replace(op, block=block, params=params, child=None)


def root_blueprint(root: Body, name: str) -> Blueprint:
    """The model itself: its ops with their constants (a child's are its instance values)."""
    ops = [
        replace(op, block=op.child.block if op.child else op.block, params=dict(op.values))
        for op in root.ops
    ]
    return Blueprint(name, "", root.inputs, ops, root.outputs, dtypes=dict(root.dtypes))


def define_blocks(root: Body) -> list[Blueprint]:
    """One blueprint per composite block, inner blocks first."""
    return Definer().define(root)
