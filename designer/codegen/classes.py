"""Each class of a plan as :class:`ClassCode`: the model, and one class per composite block type.

Composite block classes are generic: their constructor arguments are written as expressions of the
declared parameters and the inferred input channels (see :mod:`designer.core.symbolic`). When two
instances of a block type would need different code (a parameter expression that is sometimes
``None``, say), each gets its own class (``Down``, ``Down_1``) so the file always reproduces the
live model exactly.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from designer.codegen.hoist import expr_names, expr_texts, hoists, rewriter
from designer.codegen.placing import device_args, device_attributes, placed_slot
from designer.codegen.source import (
    CodegenError,
    call,
    docstring,
    forward_lines,
    names_in,
    repeat_call,
    torch_args,
    torch_call,
)
from designer.core.composite import implicit_values, is_expr
from designer.core.symbolic import (
    ExprScope,
    SymInt,
    SymNode,
    code,
    evaluate_body,
    plain,
    wrap,
)
from designer.core.validate import freeze
from designer.core.walk import walk
from designer.live.names import Namespace
from designer.live.plan import BlockClass, Plan


@dataclass(frozen=True)
class SlotCode:
    """One attribute assignment of ``__init__`` (``exprs`` are constructor calls)."""

    attr: str  # the attribute, or the key of an entry of a ModuleDict / ModuleList
    kind: str  # module | sequential | choice | flag | dict | list
    exprs: tuple[str, ...] = ()
    conds: tuple[str, ...] = ()
    entries: tuple[SlotCode, ...] = ()
    to: str = ""  # ``.to(dev0)`` after the constructor call in a placed model

    @property
    def key(self) -> str:
        """The entry's key as a literal (``"branch1"``)."""
        return repr(self.attr)


@dataclass(frozen=True)
class ClassCode:
    """Everything a class template needs, as Python source fragments."""

    name: str
    doc: str  # a docstring literal
    args: tuple[str, ...]  # ``in_channels``, ``out_channels=64``
    hoists: tuple[str, ...]  # ``mid_channels = mid_channels or out_channels``
    slots: tuple[SlotCode, ...]
    inputs: tuple[str, ...]
    forward: tuple[str, ...]
    implicit: tuple[tuple[int, int], ...] = ()  # (input index, dimension) per inferred argument
    params: tuple[tuple[str, str], ...] = ()  # declared parameter -> argument name

    def same_code(self, other: ClassCode) -> bool:
        return dataclasses.replace(self, name="") == dataclasses.replace(other, name="")


def _instance_key(block: str, values: Mapping[str, Any], in_shapes) -> tuple:
    return (block, freeze(dict(values)), tuple(tuple(s) for s in in_shapes))


class Writer:
    """Builds the ClassCode of every class of a plan (block variants first, then the model)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.class_names = Namespace(plan.globals)
        self.variants: dict[tuple, ClassCode] = {}
        self.by_type: dict[str, list[ClassCode]] = {}
        self.classes: list[ClassCode] = []

    def run(self) -> list[ClassCode]:
        instances = _instances(self.plan)
        for block_type, block in self.plan.classes.items():
            for key, info, instance in instances.get(block_type, []):
                self.variants[key] = self._variant(block, info, instance)
        self.classes.append(self._model())
        return self.classes

    def _variant(self, block: BlockClass, info, instance) -> ClassCode:
        cc = BlockWriter(self, block, info, instance).code()
        known = self.by_type.setdefault(block.type, [])
        same = [c for c in known if c.same_code(cc)]
        if same:
            return same[0]
        if known:  # a second variant of the same block type
            cc = dataclasses.replace(cc, name=self.class_names.take(block.name))
        known.append(cc)
        self.classes.append(cc)
        return cc

    def class_for(self, block_type: str, info) -> ClassCode:
        """The class an instance with these values and input shapes uses."""
        if info is not None:
            hit = self.variants.get(_instance_key(block_type, info.values, info.in_shapes))
            if hit is not None:
                return hit
        return self.by_type[block_type][0]

    def composite_call(
        self, block_type: str, info, in_shapes, raw: Mapping[str, Any], param_code
    ) -> str:
        """``Down(64, out_channels=128)``: inferred channels, then the parameters set."""
        cc = self.class_for(block_type, info)
        positional = [code(in_shapes[i][dim]) for i, dim in cc.implicit]
        arg_names = dict(cc.params)
        keywords = [(arg_names[k], param_code(k)) for k in arg_names if k in raw]
        return call(cc.name, positional, keywords)

    def _model(self) -> ClassCode:
        plan, design = self.plan, self.plan.design
        scope = plan.model
        visits = {v.node: v for v in walk(design, plan.report)}

        def one_code(visit) -> str:
            spec = visit.spec
            if spec.torch is not None:
                args = spec.torch.args(visit.values, visit.in_shapes)
                return torch_call(spec, args, visit.values)
            raw = design.node(visit.node)["params"]
            return self.composite_call(
                spec.name, visit.info, visit.in_shapes, raw, lambda k: code(visit.values[k])
            )

        def node_code(node_id: str) -> str:
            visit = visits[node_id]
            if visit.info.repeat is None:
                return one_code(visit)
            calls = [one_code(copy) for copy, _ in visit.copies()]
            return repeat_call(calls[0], calls[-1], visit.info.repeat)

        placement = scope.placement
        slots = tuple(placed_slot(placement, _slot_code(s, node_code)) for s in scope.slots)
        doc = docstring(f"The {design.name} model, generated by torch-designer.", "")
        return ClassCode(
            name=scope.name,
            doc=doc,
            args=() if placement is None else device_args(design, placement),
            hoists=() if placement is None else device_attributes(placement),
            slots=slots,
            inputs=tuple(v for _, v in scope.inputs),
            forward=forward_lines(scope, lambda n: visits[n].values),
        )


def _slot_code(slot, node_code) -> SlotCode:
    """A plain slot (one module or a Sequential) or a container of them."""
    if slot.entries:
        entries = tuple(_slot_code(e, node_code) for e in slot.entries)
        return SlotCode(slot.attr, slot.kind, entries=entries)
    return SlotCode(slot.attr, slot.kind, tuple(node_code(n) for n in slot.nodes))


def _instances(plan: Plan) -> dict[str, list[tuple]]:
    """Every distinct composite instance (type, values, input shapes), nested ones and those the
    later copies of a repeated node see included, each after the instances inside it."""
    found: dict[str, list[tuple]] = {}
    seen: set[tuple] = set()

    def gather(design, report) -> None:
        for visit in walk(design, report):
            for copy, _ in visit.copies() if visit.composite else ():
                key = _instance_key(copy.spec.name, copy.values, copy.in_shapes)
                if key not in seen:
                    seen.add(key)
                    instance = copy.instance()
                    gather(instance.body, instance.report)
                    found.setdefault(copy.spec.name, []).append((key, copy.info, instance))

    gather(plan.design, plan.report)
    return found


class BlockWriter:
    """One composite block class, written from one concrete instance of it."""

    def __init__(self, writer: Writer, block: BlockClass, info, instance) -> None:
        self.writer, self.block, self.instance = writer, block, instance
        self.composite = block.composite
        self.scope = block.scope
        local = Namespace(writer.plan.globals)
        self.arg_of = {p.name: local.take(p.name, "arg") for p in self.composite.params}
        self.implicit = self._implicit(local, list(info.in_shapes))
        names = {p: ast.Name(v, ast.Load()) for p, v in self.arg_of.items()}
        env = {**implicit_values(list(info.in_shapes))}
        env.update({p: wrap(info.values[p], names[p]) for p in self.arg_of})
        for alias, (var, i, dim) in self.implicit.items():
            names[alias] = ast.Name(var, ast.Load())
            env[alias] = SymInt(info.in_shapes[i][dim], names[alias])
        self.hoisted = hoists(self.composite)
        self.exprs = ExprScope(env, names, rewriter(self.hoisted))
        self.nodes = evaluate_body(self.composite, self.exprs, self._input_shapes(info.in_shapes))

    def _implicit(self, local: Namespace, in_shapes: list) -> dict[str, tuple[str, int, int]]:
        """Inferred constructor arguments: alias -> (argument name, input index, dimension)."""
        reads = set().union(*(expr_names(t) for t in expr_texts(self.composite.body)))
        found: dict[str, tuple[str, int, int]] = {}
        for i, (_, var) in enumerate(self.scope.inputs):
            rank = len(in_shapes[i])
            base = "in" if i == 0 else var
            if rank == 2:
                found[f"{base}_features"] = (local.take(f"{base}_features"), i, 1)
            elif rank > 2:
                found[f"{base}_channels"] = (local.take(f"{base}_channels"), i, 1)
                if i == 0 and "in_features" in reads:
                    found["in_features"] = (local.take("in_features"), i, rank - 1)
        if "in_features" in found and "in_channels" not in found:
            found["in_channels"] = found["in_features"]
        return found

    def _input_shapes(self, in_shapes) -> dict[str, tuple]:
        shapes = {}
        for i, (node_id, _) in enumerate(self.scope.inputs):
            shape = list(in_shapes[i])
            for var, k, dim in self.implicit.values():
                if k == i:
                    shape[dim] = SymInt(shape[dim], ast.Name(var, ast.Load()))
            shapes[node_id] = tuple(shape)
        return shapes

    def code(self) -> ClassCode:
        slots = tuple(self._slot(s) for s in self.scope.slots)
        hoists = tuple(
            f"{self.arg_of[p]} = {self.arg_of[p]} or {ast.unparse(self.exprs.tree(ast.unparse(r)))}"
            for p, r in self.hoisted.items()
        )
        used = set()
        for text in [h.split("=", 1)[1] for h in hoists] + [e for s in slots for e in _texts(s)]:
            used |= names_in(text)
        implicit = sorted(
            {(var, i, dim) for var, i, dim in self.implicit.values() if var in used},
            key=lambda t: (t[1], t[2]),
        )
        args = [var for var, _, _ in implicit] + [
            f"{self.arg_of[p.name]}={code(p.default)}" for p in self.composite.params
        ]
        values = {n: node.values for n, node in self.nodes.items()}
        return ClassCode(
            name=self.block.name,
            doc=docstring(self.block.doc, self.block.name),
            args=tuple(args),
            hoists=hoists,
            slots=slots,
            inputs=tuple(v for _, v in self.scope.inputs),
            forward=forward_lines(self.scope, values.__getitem__),
            implicit=tuple((i, dim) for _, i, dim in implicit),
            params=tuple(self.arg_of.items()),
        )

    def _slot(self, slot) -> SlotCode:
        if slot.kind not in ("choice", "optional", "flag"):
            return _slot_code(slot, self._node)
        body = self.composite.body
        conds = tuple(ast.unparse(self.exprs.tree(body.node(n)["when"])) for n in slot.nodes)
        if slot.kind == "flag":
            return SlotCode(slot.attr, "flag", (), conds)
        exprs = tuple(self._node(n) for n in slot.nodes)
        if len(exprs) == 1:
            exprs += ("nn.Identity()" if slot.kind == "choice" else "None",)
        return SlotCode(slot.attr, "choice", exprs, conds)

    def _node(self, node_id: str) -> str:
        node: SymNode = self.nodes[node_id]
        if node.error is not None:
            raise CodegenError(
                f"block {self.block.type}, node {node_id!r}: cannot write the branch that is "
                f"off in this design ({node.error})"
            )
        info = self.instance.report.nodes.get(node_id)
        first = self._one(node_id, node, info, node.in_shapes)
        count = self.composite.body.node(node_id).get("repeat")
        if count is None:
            return first
        rest = self._rest(node_id, node, info, count) or first
        if isinstance(count, str):
            count = ast.unparse(self.exprs.tree(count))
        return repeat_call(first, rest, count)

    def _rest(self, node_id: str, node: SymNode, info, count) -> str | None:
        """The call of the copies after the first (they read the node's own output); with one
        copy here and a count that may be more elsewhere, a module's call all the same, so that
        instances of other depths share the class."""
        if info is not None and info.repeat > 1:
            later = dataclasses.replace(info, in_specs=info.out_specs)
            return self._one(node_id, node, later, node.out_shapes)
        if not isinstance(count, str) or self.composite.body.spec(node.block).torch is None:
            return None
        try:
            return self._one(node_id, node, None, node.out_shapes)
        except Exception:  # a copy this instance never builds: any call will do
            return None

    def _one(self, node_id: str, node: SymNode, info, in_shapes) -> str:
        """One module's constructor call, on these (symbolic) input shapes."""
        body = self.composite.body
        spec = body.spec(node.block)
        if spec.torch is not None:
            live = None if info is None else spec.torch.args(info.values, list(info.in_shapes))
            args = torch_args(spec, node.values, in_shapes, live)
            return torch_call(spec, args, node.values)
        raw = body.node(node_id)["params"]

        def param_code(name: str) -> str:
            value = raw[name]
            if is_expr(value):
                return ast.unparse(self.exprs.tree(value["expr"]))
            return code(plain(node.values[name]))

        return self.writer.composite_call(node.block, info, in_shapes, raw, param_code)


def _texts(slot: SlotCode) -> list[str]:
    """Every expression of a slot, entries included."""
    return [*slot.exprs, *slot.conds, *(t for e in slot.entries for t in _texts(e))]
