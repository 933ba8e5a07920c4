"""Small, safe expressions for composite-block parameters.

``mid_channels or out_channels``, ``in_channels // 2``, ``2 if bilinear else 1``: parsed with
:mod:`ast`, checked against a short allow-list of node types, compiled once to a closure. Nothing is
ever passed to ``eval``; names resolve only in the environment given.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FUNCTIONS = {"min": min, "max": max, "abs": abs, "int": int}
MAX_LENGTH = 200
_MAX_INT = 10**12


class ExprError(ValueError):
    """An expression that cannot be parsed, uses something not allowed, or fails to evaluate."""


Compiled = Callable[[Mapping[str, Any]], Any]


@lru_cache(maxsize=4096)
def compile_expr(text: str) -> tuple[Compiled, frozenset[str]]:
    """Parse ``text`` once; return an evaluator and the names it reads."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("an expression must be non-empty text")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"cannot parse {text!r}: {exc.msg}") from None
    names: set[str] = set()
    return _compile(tree.body, names), frozenset(names)


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate ``text`` with the names in ``env``."""
    fn, _ = compile_expr(text)
    return fn(env)


def names_in(text: str) -> frozenset[str]:
    """The variable names an expression reads."""
    return compile_expr(text)[1]


def _checked(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_INT:
        raise ExprError(f"value {value} is out of range")
    return value


def _compile(node: ast.AST, names: set[str]) -> Compiled:
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, (bool, int, float, str))
    ):
        value = node.value
        return lambda env: value
    if isinstance(node, ast.Name):
        name = node.id
        names.add(name)

        def load(env: Mapping[str, Any]) -> Any:
            if name not in env:
                raise ExprError(f"unknown name {name!r}")
            return env[name]

        return load
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op, left, right = (
            _BINARY[type(node.op)],
            _compile(node.left, names),
            _compile(node.right, names),
        )

        def binary(env: Mapping[str, Any]) -> Any:
            try:
                return _checked(op(left(env), right(env)))
            except (TypeError, ZeroDivisionError, OverflowError) as exc:
                raise ExprError(str(exc)) from None

        return binary
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        uop, operand = _UNARY[type(node.op)], _compile(node.operand, names)

        def unary(env: Mapping[str, Any]) -> Any:
            try:
                return uop(operand(env))
            except TypeError as exc:
                raise ExprError(str(exc)) from None

        return unary
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, names) for v in node.values]
        if isinstance(node.op, ast.Or):

            def either(env: Mapping[str, Any]) -> Any:
                value = None
                for part in parts:
                    value = part(env)
                    if value:
                        return value
                return value

            return either

        def both(env: Mapping[str, Any]) -> Any:
            value = None
            for part in parts:
                value = part(env)
                if not value:
                    return value
            return value

        return both
    if isinstance(node, ast.IfExp):
        test, body, orelse = (_compile(n, names) for n in (node.test, node.body, node.orelse))
        return lambda env: body(env) if test(env) else orelse(env)
    if isinstance(node, ast.Compare) and all(type(o) in _COMPARE for o in node.ops):
        left = _compile(node.left, names)
        ops = [_COMPARE[type(o)] for o in node.ops]
        rights = [_compile(c, names) for c in node.comparators]

        def compare(env: Mapping[str, Any]) -> bool:
            a = left(env)
            for op, right in zip(ops, rights, strict=True):
                b = right(env)
                try:
                    if not op(a, b):
                        return False
                except TypeError as exc:
                    raise ExprError(str(exc)) from None
                a = b
            return True

        return compare
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_compile(e, names) for e in node.elts]
        return lambda env: tuple(item(env) for item in items)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        fn = _FUNCTIONS[node.func.id]
        args = [_compile(a, names) for a in node.args]

        def call(env: Mapping[str, Any]) -> Any:
            try:
                return _checked(fn(*(a(env) for a in args)))
            except (TypeError, ValueError) as exc:
                raise ExprError(str(exc)) from None

        return call
    raise ExprError(f"{type(node).__name__} is not allowed in a parameter expression")
