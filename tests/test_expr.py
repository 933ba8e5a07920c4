"""Composite parameter expressions: a small safe subset, never eval."""

from __future__ import annotations

import gc
import inspect
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designer.core import expr
from designer.core.expr import ExprError, evaluate, names_in


@pytest.mark.parametrize(
    ("text", "env", "value"),
    [
        ("mid_channels or out_channels", {"mid_channels": None, "out_channels": 64}, 64),
        ("in_channels // 2", {"in_channels": 1024}, 512),
        ("in_channels if bilinear else None", {"in_channels": 8, "bilinear": False}, None),
        ("2 if bilinear else 1", {"bilinear": True}, 2),
        ("max(a, 3) * -b", {"a": 1, "b": 2}, -6),
        ("(a, a + 1)", {"a": 1}, (1, 2)),
        ("not a and b", {"a": False, "b": 5}, 5),
        ("1 < a <= 3", {"a": 3}, True),
    ],
)
def test_evaluates(text, env, value):
    assert evaluate(text, env) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('x')", "Call is not allowed"),
        ("a.b", "Attribute is not allowed"),
        ("[x for x in a]", "ListComp is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("a[0]", "Subscript is not allowed"),
        ("a +", "cannot parse"),
        ("", "non-empty"),
        ("1" * 300, "longer than"),
    ],
)
def test_rejects_anything_else(text, message):
    with pytest.raises(ExprError, match=message):
        evaluate(text, {"a": 1})


def test_errors_at_evaluation_are_expr_errors():
    with pytest.raises(ExprError, match="unknown name 'c'"):
        evaluate("c + 1", {})
    with pytest.raises(ExprError):
        evaluate("a // 0", {"a": 1})
    with pytest.raises(ExprError, match="out of range"):
        evaluate("a * a * a", {"a": 10**6})


def test_names_in():
    assert names_in("mid_channels or out_channels") == {"mid_channels", "out_channels"}


# -- bounded work (issue 16): every produced value is sized before it is computed ---------------

BIG = {
    "n": 10**9,
    "s": "x" * expr.MAX_SIZE,
    "t": tuple(range(expr.MAX_SIZE)),
    "big": 2**4000,
    "f": 1e308,
    "fmt": "%s" * (expr.MAX_SIZE // 2),
}


def _bounded(value) -> bool:
    if isinstance(value, (str, tuple, list)):
        return expr._size(value) <= expr.MAX_SIZE
    if isinstance(value, int):
        return value.bit_length() <= expr.MAX_BITS
    return True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("'x' * 99999 * 99999", "too large: a string"),  # string repetition
        ("'ab' * n", "too large: a string"),
        ("s + 'y'", "too large: a string"),
        ("(1,) * 1000000000", "too large: a string or tuple"),  # tuple repetition
        ("(t, t)", "too large"),  # nesting adds up
        ("((t,) * 2, 1)", "too large"),
        ("'%0999999999d' % 1", "too large: a formatted string"),  # %-format width
        ("'%.99999f' % 1.5", "too large: a formatted string"),
        ("'%*d' % (999999999, 1)", "'\\*' width"),
        ("'%099999999999999999999999d' % 1", "too large: a formatted string"),
        ("'%5000s%5001s' % (1, 2)", "too large: a formatted string"),
        ("'%r' % s", "too large: a formatted string"),
        ("fmt % t", "too large: a formatted string"),
        ("format(1, '>999999999')", "Call is not allowed"),  # format()
        ("f'{1:>999999999}'", "JoinedStr is not allowed"),  # f-strings
        ("'{:>999999999}'.format(1)", "not allowed"),
        ("9 ** 9 ** 9", "BinOp is not allowed"),  # power
        ("1 << 1000000000", "BinOp is not allowed"),  # shift
        ("big * big", "too large: an integer of about 8,002 bits"),
        ("int(s)", "too large: int\\(\\) of 10,000 characters"),
        ("int(f * 10)", "cannot convert float infinity"),
        ("'%y' % 1", "unsupported format character"),
        ("'%c' % 99999999", "not in range"),
        ("9" * 99 + " * " + "9" * 98, "out of range"),  # large literals in the text
        ("1+" * 150 + "1", "longer than"),  # a long text
        ("(" * 97 + "1" + ")" * 97 + " + ''", "unsupported operand"),
        ("-" * 197 + "''", "bad operand type"),
    ],
)
def test_unbounded_work_is_refused(text, message):
    start = time.perf_counter()
    with pytest.raises(ExprError, match=message):
        evaluate(text, BIG)
    assert time.perf_counter() - start < 0.05


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'%s' % s", BIG["s"]),
        ("t * 1", BIG["t"]),
        ("'ab' * 5000", "ab" * 5000),
        ("'%05.1f' % 1.25", "001.2"),
        ("'%d%%' % 50", "50%"),
        ("-big", -(2**4000)),
        ("(" * 99 + "1" + ")" * 99, 1),
    ],
)
def test_values_at_the_bounds_still_evaluate(text, value):
    assert evaluate(text, BIG) == value


def test_large_literals_and_deep_or_wide_trees_are_refused(monkeypatch):
    monkeypatch.setattr(expr, "MAX_LENGTH", 10**6)
    cases = [
        ("9" * 2000, "too large: an integer of about 6,644 bits"),
        ("'" + "x" * 20_000 + "'", "too large: a string"),
        ("(" + "a, " * 10_001 + ")", "too complex: 10,00"),  # the step budget
        ("+".join(["a"] * 6000), "nested too deeply|cannot parse"),
        ("-" * 5000 + "a", "nested too deeply|cannot parse"),
        ("(" * 300 + "a" + ")" * 300, "cannot parse"),
    ]
    for text, message in cases:
        with pytest.raises(ExprError, match=message):
            evaluate(text, {"a": 1})


def test_a_nearly_full_stack_is_an_expr_error():
    text = "-(" * 60 + "a" + ")" * 60
    assert evaluate(text, {"a": 1}) == 1  # compiled (and cached) with room to spare
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 30)
    try:
        with pytest.raises(ExprError, match="nested too deeply"):
            evaluate(text, {"a": 1})
    finally:
        sys.setrecursionlimit(old)


_LEAVES = st.one_of(
    st.integers(-(10**60), 10**60).map(str),
    st.sampled_from(["1e308", "1e999", "0.5", "0", "True", "None"]),
    st.sampled_from(["'x'", "''", "'%s'", "'%0999d'", "'%.99f'", "'%c'", "'%r%r'", "'%(a)s'"]),
    st.sampled_from([*BIG, "a", "missing"]),
)


def _grow(children: st.SearchStrategy) -> st.SearchStrategy:
    ops = st.sampled_from(["+", "-", "*", "//", "/", "%", "<", "==", "and", "or"])
    pair = st.tuples(children, ops, children)
    return st.one_of(
        pair.map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
        st.tuples(st.sampled_from(["-", "+", "not "]), children).map(lambda p: f"({p[0]}{p[1]})"),
        st.tuples(children, children, children).map(lambda p: f"({p[0]} if {p[1]} else {p[2]})"),
        st.lists(children, max_size=3).map(lambda items: f"({''.join(i + ', ' for i in items)})"),
        st.tuples(
            st.sampled_from(["min", "max", "abs", "int"]), st.lists(children, max_size=3)
        ).map(lambda p: f"{p[0]}({', '.join(p[1])})"),
    )


ENV = {**BIG, "a": 3}


def _timed(text: str) -> tuple[object, float]:
    """The value (or the ExprError) and the seconds taken, the collector paused."""
    gc.disable()
    start = time.perf_counter()
    try:
        outcome = evaluate(text, ENV)
    except ExprError as exc:
        outcome = exc
    finally:
        elapsed = time.perf_counter() - start
        gc.enable()
    return outcome, elapsed


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.recursive(_LEAVES, _grow, max_leaves=12))
def test_random_expressions_are_bounded_or_refused(text):
    """Any text of the grammar, on operands at the bounds: a bounded value or an ExprError,
    quickly; never MemoryError, RecursionError, OverflowError or anything else."""
    outcome, elapsed = _timed(text)
    assert isinstance(outcome, ExprError) or _bounded(outcome), text
    assert min(elapsed, _timed(text)[1]) < 0.05, text
