"""Small, safe expressions for composite-block parameters.

``mid_channels or out_channels``, ``in_channels // 2``, ``2 if bilinear else 1``: parsed with
:mod:`ast`, checked against a short allow-list of node types, compiled once to a closure. Nothing is
ever passed to ``eval``; names resolve only in the environment given.

The work is bounded whatever the text: at most ``MAX_LENGTH`` characters and ``MAX_STEPS`` nodes
(there are no loops, so each node runs at most once per evaluation), and every value an operation
produces is sized *before* it is computed: strings and tuples at most ``MAX_SIZE`` characters and
elements (nested ones included), integers at most ``MAX_BITS`` bits. Anything past a bound, nesting
too deep for the stack included, is an :class:`ExprError`.
"""

from __future__ import annotations

import ast
import operator
import re
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
MAX_LENGTH = 200  # characters of expression text
MAX_STEPS = 10_000  # expression nodes one evaluation may run
MAX_SIZE = 10_000  # characters and elements of a produced string or tuple, nested ones included
MAX_BITS = 4_096  # bits of a produced integer (results are then range-checked: _MAX_INT)
_MAX_INT = 10**12
_MAX_DIGITS = MAX_BITS * 3 // 10  # digits ``int(text)`` may read (about MAX_BITS bits in base 10)
# One printf-style conversion: ``%(key)-08.3f``; ``%%`` included (no argument).
_SPEC = re.compile(r"%(\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.?)", re.DOTALL)


class ExprError(ValueError):
    """An expression that cannot be parsed, uses something not allowed, or fails to evaluate."""


Compiled = Callable[[Mapping[str, Any]], Any]


@lru_cache(maxsize=4096)
def compile_expr(text: str) -> tuple[Compiled, frozenset[str]]:
    """Parse ``text`` once; return an evaluator and the names it reads."""
    tree = _parse(text)
    names: set[str] = set()
    try:
        return _compile(tree.body, names), frozenset(names)
    except RecursionError:
        raise ExprError("expression nested too deeply") from None


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate ``text`` with the names in ``env``."""
    fn, _ = compile_expr(text)
    try:
        return fn(env)
    except RecursionError:  # called with the stack nearly full
        raise ExprError("expression nested too deeply") from None


def names_in(text: str) -> frozenset[str]:
    """The variable names an expression reads."""
    return compile_expr(text)[1]


def _parse(text: str) -> ast.Expression:
    if not isinstance(text, str) or not text.strip():
        raise ExprError("an expression must be non-empty text")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"cannot parse {text!r}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, nesting
        raise ExprError(f"cannot parse {text!r}: {type(exc).__name__}") from None
    steps = sum(isinstance(n, ast.expr) for n in ast.walk(tree))
    if steps > MAX_STEPS:
        raise ExprError(f"expression too complex: {steps:,} steps (at most {MAX_STEPS:,})")
    return tree


# -- sizes, estimated before an operation runs ---------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int)  # bool included: ``'x' * True`` repeats too


def _is_seq(value: Any) -> bool:
    return isinstance(value, (str, tuple, list))


def _size(value: Any, limit: int = MAX_SIZE) -> int:
    """Characters and elements of ``value``, nested ones included; stops counting past ``limit``."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, (tuple, list)):
        return 0
    total = len(value)
    for item in value:
        if total > limit:
            break
        if _is_seq(item):
            total += _size(item, limit - total)
    return total


def _check_size(size: int, what: str = "a string or tuple of {:,} characters or elements") -> None:
    if size > MAX_SIZE:
        raise ExprError(f"expression result too large: {what.format(size)} (at most {MAX_SIZE:,})")


def _check_bits(bits: int) -> None:
    if bits > MAX_BITS:
        raise ExprError(
            f"expression result too large: an integer of about {bits:,} bits (at most {MAX_BITS:,})"
        )


def _pre_add(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int):
        _check_bits(max(a.bit_length(), b.bit_length()) + 1)
    elif _is_seq(a) and _is_seq(b):
        _check_size(_size(a) + _size(b))


def _pre_mul(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int):
        _check_bits(a.bit_length() + b.bit_length())
    elif _is_seq(a) and _is_int(b):
        _check_size(_size(a) * max(b, 0))
    elif _is_int(a) and _is_seq(b):
        _check_size(_size(b) * max(a, 0))


def _pre_mod(a: Any, b: Any) -> None:
    if isinstance(a, str):
        _check_size(_format_size(a, b), "a formatted string of up to {:,} characters")


_PRECHECK = {ast.Add: _pre_add, ast.Sub: _pre_add, ast.Mult: _pre_mul, ast.Mod: _pre_mod}


def _format_size(fmt: str, rhs: Any) -> int:
    """An upper bound on the length of ``fmt % rhs``: the text with each conversion replaced by
    the larger of its width and its argument's text with the precision added."""
    args = rhs if isinstance(rhs, tuple) else (rhs,)
    total, i = len(fmt), 0
    for spec in _SPEC.finditer(fmt):
        key, width, prec, conv = spec.groups("")
        if "*" in (width, prec):
            raise ExprError("a '*' width or precision is not allowed in a format")
        if key or conv == "%":
            arg = rhs if key else None
        else:
            arg, i = (args[i] if i < len(args) else None), i + 1
        total += max(_digits(width), _text_size(arg, conv) + _digits(prec)) - len(spec[0])
        if total > MAX_SIZE:
            break
    return total


def _digits(text: str) -> int:
    """A width or precision (``""`` is 0); any with seven digits or more is over the bound."""
    return int(text or 0) if len(text) < 7 else MAX_SIZE + 1


def _text_size(value: Any, conv: str) -> int:
    """An upper bound on the length of ``value`` under a printf conversion (``s``, ``r``...)."""
    if isinstance(value, str):
        return len(value) if conv in "sc" else 10 * len(value) + 2  # repr escapes: ``\U0010ffff``
    if isinstance(value, bool) or value is None:
        return 10
    if isinstance(value, int):
        return value.bit_length() // 3 + 10  # decimal digits, sign, ``.000000`` of ``%f``
    if isinstance(value, float):
        return 330  # ``%f`` of 1.8e308: 309 digits, sign, point, six decimals
    if isinstance(value, (tuple, list)):
        total = 2
        for item in value:
            total += _text_size(item, "r") + 2
            if total > MAX_SIZE:
                break
        return total
    return MAX_SIZE + 1


def _checked(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_INT:
        shown = value if value.bit_length() <= 128 else f"of {value.bit_length():,} bits"
        raise ExprError(f"value {shown} is out of range (at most {_MAX_INT:,})")
    return value


# -- compiling to closures -----------------------------------------------------------------------


def _compile(node: ast.AST, names: set[str]) -> Compiled:
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, (bool, int, float, str))
    ):
        value = node.value
        _check_size(_size(value))
        _check_bits(value.bit_length() if _is_int(value) else 0)
        return lambda env: value
    if isinstance(node, ast.Name):
        return _name(node.id, names)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _binary(node, names)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        uop, operand = _UNARY[type(node.op)], _compile(node.operand, names)

        def unary(env: Mapping[str, Any]) -> Any:
            try:
                return uop(operand(env))
            except TypeError as exc:
                raise ExprError(str(exc)) from None

        return unary
    if isinstance(node, ast.BoolOp):
        return _boolean(node, names)
    if isinstance(node, ast.IfExp):
        test, body, orelse = (_compile(n, names) for n in (node.test, node.body, node.orelse))
        return lambda env: body(env) if test(env) else orelse(env)
    if isinstance(node, ast.Compare) and all(type(o) in _COMPARE for o in node.ops):
        return _compare(node, names)
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_compile(e, names) for e in node.elts]

        def build(env: Mapping[str, Any]) -> tuple:
            value = tuple([item(env) for item in items])
            for v in value:  # the items are bounded; only nested sequences can add up
                if isinstance(v, (str, tuple, list)):
                    _check_size(_size(value))
                    break
            return value

        return build
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _call(_FUNCTIONS[node.func.id], [_compile(a, names) for a in node.args])
    raise ExprError(f"{type(node).__name__} is not allowed in a parameter expression")


def _name(name: str, names: set[str]) -> Compiled:
    names.add(name)

    def load(env: Mapping[str, Any]) -> Any:
        if name not in env:
            raise ExprError(f"unknown name {name!r}")
        return env[name]

    return load


def _binary(node: ast.BinOp, names: set[str]) -> Compiled:
    op, pre = _BINARY[type(node.op)], _PRECHECK.get(type(node.op))
    left, right = _compile(node.left, names), _compile(node.right, names)

    def binary(env: Mapping[str, Any]) -> Any:
        a, b = left(env), right(env)
        if pre is not None:
            pre(a, b)
        try:
            return _checked(op(a, b))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise ExprError(str(exc)) from None

    return binary


def _boolean(node: ast.BoolOp, names: set[str]) -> Compiled:
    parts = [_compile(v, names) for v in node.values]
    stop = bool if isinstance(node.op, ast.Or) else operator.not_

    def boolean(env: Mapping[str, Any]) -> Any:
        value = None
        for part in parts:
            value = part(env)
            if stop(value):
                return value
        return value

    return boolean


def _compare(node: ast.Compare, names: set[str]) -> Compiled:
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


def _call(fn: Callable, args: list[Compiled]) -> Compiled:
    def call(env: Mapping[str, Any]) -> Any:
        values = [a(env) for a in args]
        if fn is int and values and isinstance(values[0], str) and len(values[0]) > _MAX_DIGITS:
            raise ExprError(
                f"expression result too large: int() of {len(values[0]):,} characters "
                f"(at most {_MAX_DIGITS:,})"
            )
        try:
            return _checked(fn(*values))
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExprError(str(exc)) from None

    return call
