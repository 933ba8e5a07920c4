"""Concrete values that remember the expression computing them, for generic block classes.

A composite block type becomes one class, generic over its declared parameters and its inferred
input channels. To write ``nn.Conv2d(in_channels, mid_channels, ...)`` rather than
``nn.Conv2d(64, 64, ...)``, the body of one concrete instance is walked with *symbolic* values: an
``int`` that also carries the ``ast`` of where it came from (``in_channels``,
``x2_channels + in_channels // 2``). The registry's own shape rules and constructor-argument
functions run unchanged on these values (they are real ints, floats, strings and tuples), so the
arguments they return carry their expressions too, and the concrete values stay checkable against
the live model's.

Expressions come from :mod:`designer.core.expr` (parsed and allow-listed); this module only
substitutes names by other checked trees, builds ``BinOp``/``IfExp`` nodes and folds constants, so
whatever it hands to ``ast.unparse`` is made of the same safe node types.
"""

from __future__ import annotations

import ast
import copy
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from designer.core.composite import implicit_values, is_expr
from designer.core.expr import ExprError, evaluate
from designer.core.graph import Design
from designer.core.shapes import NestedError, ShapeError
from designer.core.walk import walk

_OPS = {
    "add": ast.Add,
    "sub": ast.Sub,
    "mul": ast.Mult,
    "floordiv": ast.FloorDiv,
    "truediv": ast.Div,
    "mod": ast.Mod,
}


class SymbolicError(ValueError):
    """A node of a block body whose arguments cannot be written generically."""


class Sym:
    """Mixin for a concrete value with its expression ``node`` (an ``ast.expr``)."""

    node: ast.expr
    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{plain(self)!r} = {ast.unparse(self.node)}>"


def _arith(name: str, op: type) -> tuple[Callable, Callable]:
    fn = getattr(operator, name)

    def forward(self, other):
        if not isinstance(other, (int, float)):
            return NotImplemented
        return wrap(fn(plain(self), plain(other)), _binop(node_of(self), op, node_of(other)))

    def reverse(self, other):
        if not isinstance(other, (int, float)):
            return NotImplemented
        return wrap(fn(plain(other), plain(self)), _binop(node_of(other), op, node_of(self)))

    return forward, reverse


class SymInt(Sym, int):
    """An int with its expression."""

    def __new__(cls, value: int, node: ast.expr) -> SymInt:
        obj = int.__new__(cls, value)
        obj.node = node
        return obj

    def __neg__(self):
        return wrap(-int(self), ast.UnaryOp(ast.USub(), node_of(self)))


class SymFloat(Sym, float):
    """A float with its expression."""

    def __new__(cls, value: float, node: ast.expr) -> SymFloat:
        obj = float.__new__(cls, value)
        obj.node = node
        return obj


for _name, _op in _OPS.items():
    for _cls in (SymInt, SymFloat):
        _fwd, _rev = _arith(_name, _op)
        setattr(_cls, f"__{_name}__", _fwd)
        setattr(_cls, f"__r{_name}__", _rev)


class SymBool(SymInt):
    """A bool with its expression (bool cannot be subclassed: an int of 0 or 1 that ``plain``
    turns back into a bool)."""


class SymStr(Sym, str):
    """A string with its expression."""

    def __new__(cls, value: str, node: ast.expr) -> SymStr:
        obj = str.__new__(cls, value)
        obj.node = node
        return obj


class SymTuple(Sym, tuple):
    """A tuple with its expression."""

    def __new__(cls, value: tuple, node: ast.expr) -> SymTuple:
        obj = tuple.__new__(cls, value)
        obj.node = node
        return obj


class _Opaque:
    """Never equal to a constant: makes ``keywords()`` always write a symbolic argument."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


_OPAQUE = {
    cls: type(f"Opaque{cls.__name__}", (_Opaque, cls), {})
    for cls in (SymInt, SymBool, SymFloat, SymStr, SymTuple)
}


def opaque(value: Any) -> Any:
    """The same symbolic value, compared unequal to everything (plain values unchanged)."""
    kind = _OPAQUE.get(type(value))
    return value if kind is None else kind(plain(value), value.node)


def plain(value: Any) -> Any:
    """The concrete value (containers converted element by element)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, SymBool):
        return bool(value)
    if isinstance(value, SymInt):
        return int(value)
    if isinstance(value, SymFloat):
        return float(value)
    if isinstance(value, SymStr):
        return str(value)
    if isinstance(value, (tuple, list)):
        items = [plain(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def node_of(value: Any) -> ast.expr:
    """The expression of a value: its own for symbolic ones, a literal otherwise."""
    if isinstance(value, Sym):
        return value.node
    if isinstance(value, (tuple, list)):
        kind = ast.List if isinstance(value, list) else ast.Tuple
        return kind([node_of(v) for v in value], ast.Load())
    return ast.Constant(value)


def has_names(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) for n in ast.walk(node))


def wrap(value: Any, node: ast.expr) -> Any:
    """``value`` as a symbolic value of ``node`` (plain when ``node`` reads no name)."""
    node = simplify(node)
    if not has_names(node):
        return value
    if isinstance(value, bool):
        return SymBool(int(value), node)
    for base, cls in ((int, SymInt), (float, SymFloat), (str, SymStr), (tuple, SymTuple)):
        if isinstance(value, base):
            return cls(plain(value), node)
    if isinstance(value, list):
        return SymTuple(tuple(value), node)
    return value  # None: the expression is lost; callers compare concrete values to notice


def code(value: Any) -> str:
    """Python source for a value: ``ast.unparse`` of its expression (literals via ``repr``)."""
    return ast.unparse(node_of(value))


def _binop(left: ast.expr, op: type, right: ast.expr) -> ast.expr:
    identity = {ast.Add: 0, ast.Sub: 0, ast.Mult: 1, ast.FloorDiv: 1, ast.Div: 1}.get(op)

    def is_const(node: ast.expr, value: Any) -> bool:
        return (
            isinstance(node, ast.Constant)
            and type(node.value) in (int, float)
            and node.value == value
        )

    if identity is not None and is_const(right, identity):
        return left
    if op in (ast.Add, ast.Mult) and identity is not None and is_const(left, identity):
        return right
    return ast.BinOp(left, op(), right)


def simplify(node: ast.expr) -> ast.expr:
    """Fold what reads no name into a literal; resolve ``or`` and ``if`` on literal tests."""
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        values = [simplify(v) for v in node.values]
        while len(values) > 1 and isinstance(values[0], ast.Constant):
            if values[0].value:
                return values[0]
            values.pop(0)
        return values[0] if len(values) == 1 else ast.BoolOp(ast.Or(), values)
    if isinstance(node, ast.IfExp):
        test, body, orelse = simplify(node.test), simplify(node.body), simplify(node.orelse)
        if isinstance(test, ast.Constant):
            return body if test.value else orelse
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, body, orelse = test.operand, orelse, body  # `b if x else a`, not `if not x`
        if ast.dump(body) == ast.dump(orelse):
            return body
        return ast.IfExp(test, body, orelse)
    if not has_names(node) and not isinstance(node, (ast.Constant, ast.Tuple, ast.List)):
        try:
            value = evaluate(ast.unparse(node), {})
        except ExprError:
            return node
        return node_of(value)
    return node


def merge(cond: Any, active: Any, inactive: Any) -> Any:
    """``active if cond else inactive``, symbolically when ``cond`` is."""
    if not isinstance(cond, Sym):
        return active if cond else inactive
    if isinstance(active, tuple) and isinstance(inactive, tuple) and not isinstance(active, Sym):
        if len(active) != len(inactive):
            return active if plain(cond) else inactive
        return tuple(merge(cond, a, b) for a, b in zip(active, inactive, strict=True))
    if active is None or inactive is None:
        return active if plain(cond) else inactive
    if ast.dump(node_of(active)) == ast.dump(node_of(inactive)):
        return active
    value = plain(active) if plain(cond) else plain(inactive)
    return wrap(value, ast.IfExp(node_of(cond), node_of(active), node_of(inactive)))


class _Substitute(ast.NodeTransformer):
    def __init__(self, env: Mapping[str, ast.expr]) -> None:
        self.env = env

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.env:
            return copy.deepcopy(self.env[node.id])
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        """Only the arguments: the function (``max``) is never a parameter, even one so named."""
        node.args = [self.visit(arg) for arg in node.args]
        return node


Rewrite = Callable[[ast.expr], ast.expr]


@dataclass(frozen=True)
class ExprScope:
    """What expressions of one body read: ``env`` (values, maybe symbolic) and, for the class being
    written, ``names`` (the identifier each name becomes) and ``rewrite`` (hoisted idioms)."""

    env: Mapping[str, Any]
    names: Mapping[str, ast.expr] | None = None
    rewrite: Rewrite | None = None

    def tree(self, text: str) -> ast.expr:
        """The expression with every name replaced by its own expression, simplified."""
        tree = ast.parse(text.strip(), mode="eval").body
        if self.rewrite is not None:
            tree = self.rewrite(tree)
        names = self.names if self.names is not None else {}
        mapping = {k: names.get(k) or node_of(v) for k, v in self.env.items()}
        return simplify(_Substitute(mapping).visit(tree))

    def eval(self, text: str) -> Any:
        """Evaluate an allow-listed expression; the result keeps its expression."""
        value = evaluate(text, {k: plain(v) for k, v in self.env.items()})
        return wrap(value, self.tree(text))


# -- walking a composite body -------------------------------------------------------------------


@dataclass
class SymNode:
    """One body node evaluated symbolically."""

    block: str
    values: dict[str, Any]  # every parameter, symbolic where it came from an expression
    in_shapes: list[tuple]
    out_shapes: list[tuple]
    active: Any  # True, False, or a symbolic condition
    error: str | None = None  # why an inactive branch could not be evaluated


def evaluate_body(
    composite, scope: ExprScope, input_shapes: Mapping[str, tuple]
) -> dict[str, SymNode]:
    """Evaluate every node of a composite body, conditional ones included.

    A node whose ``when`` is false is still evaluated (its code is written under an ``if``); the
    value flowing past it is ``out if when else in``. ``env`` holds the declared parameters and
    implicit names (``scope.env``), ``input_shapes`` the shape per Input node id.
    """
    body: Design = composite.body

    flow: dict[tuple[str, str], tuple] = {}
    nodes: dict[str, SymNode] = {}
    for visit in walk(body):
        node_id, spec = visit.node, visit.spec
        if spec.name == "Input":
            flow[(node_id, "out")] = input_shapes[node_id]
            continue
        if spec.optional_inputs:  # one entry per port, None for an unwired one (as validation)
            wires = body.inputs_of(node_id)
            in_shapes = [flow[wires[p]] if p in wires else None for p in spec.inputs]
        else:
            in_shapes = [flow[key] for key in visit.inputs]
        node = _evaluate_node(body, node_id, scope, in_shapes)
        nodes[node_id] = node
        ports = spec.output_ports(count=len(node.out_shapes))  # a Split's: as many as it gives
        for port, shape in zip(ports, node.out_shapes, strict=False):
            if node.active is True:
                flow[(node_id, port)] = shape
            else:
                flow[(node_id, port)] = merge(node.active, shape, in_shapes[0])
        if node.error is not None:
            for port in spec.outputs if spec.output_count is None else spec.port_sets[1]:
                flow[(node_id, port)] = in_shapes[0]
    return nodes


def _evaluate_node(body: Design, node_id: str, scope: ExprScope, in_shapes) -> SymNode:
    data = body.node(node_id)
    spec = body.spec(data["type"])
    active = scope.eval(data["when"]) if "when" in data else True
    if data["type"] == "Output":
        return SymNode("Output", {}, in_shapes, [in_shapes[0]], active)
    try:
        values = _values(spec, data["params"], scope)
        out = _shapes(body, spec, values, in_shapes)
    except (ExprError, ShapeError, NestedError, SymbolicError) as exc:
        if plain(active):
            raise SymbolicError(f"node {node_id!r}: {exc}") from None
        return SymNode(spec.name, {}, in_shapes, [], active, error=str(exc))
    return SymNode(spec.name, values, in_shapes, out, active)


def _values(spec, raw: Mapping[str, Any], scope: ExprScope) -> dict[str, Any]:
    """Resolved parameters: expressions evaluated symbolically, then coerced like the core does."""

    symbolic = {k: scope.eval(v["expr"]) for k, v in raw.items() if is_expr(v)}
    concrete = {k: plain(symbolic[k]) if k in symbolic else v for k, v in raw.items()}
    values, errors = spec.resolve(concrete)
    if errors:
        name, err = errors[0]
        raise SymbolicError(f"parameter {name}: {err.message}")
    for name, value in symbolic.items():
        if isinstance(value, Sym):
            values[name] = wrap(values[name], value.node)
    return values


def _shapes(body: Design, spec, values, in_shapes) -> list[tuple]:
    """Output shapes; a composite child is walked recursively so they stay symbolic."""
    if spec.composite is None:
        result = spec.shape(values, list(in_shapes))
        return result if isinstance(result, list) else [result]
    child = spec.composite
    env = {**values, **implicit_values(in_shapes)}
    ports = dict(zip(child.input_ports, in_shapes, strict=True))
    inner = evaluate_body(child, ExprScope(env), ports)
    return [inner[o].in_shapes[0] for o in child.output_ports]
