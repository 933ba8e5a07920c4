"""Composite parameter expressions: a small safe subset, never eval."""

from __future__ import annotations

import pytest

from designer.expr import ExprError, evaluate, names_in


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
