"""Repeat nodes: one block instance applied N times in sequence (transformer layers, a stage).

A node's ``repeat`` attribute is a whole number from 1 to :data:`MAX_REPEAT` or, inside a block
definition, an expression over the block's parameters (``depth``), evaluated per instance as
``when`` conditions are. Only a module block (a torch module or a composite block) with one input
and one output can repeat, and only when its output can feed it again: the rule is applied to the
input spec and then to its own output, and the second application must give that output back
(the first copy may change the spec, as a first layer changing the width; the others keep it).
So a repeated node is inferred once per distinct input spec: copy 1 sees the node's input, copies
2 to N its output. Its parameter count, MACs and activations count every copy; the live model
and the generated code build an ``nn.Sequential`` of N independently constructed modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from designer.core.expr import ExprError, names_in
from designer.core.report import Issue, NodeInfo
from designer.core.shapes import NestedError, ShapeError
from designer.core.tensor import format_spec

MAX_REPEAT = 1000  # copies one node may stand for
HINT = (
    "make the block keep its input's shape (its output sizes equal to its input's), "
    "or remove the repeat and chain different blocks"
)


def value_problem(value: Any, expressions: bool = False) -> str | None:
    """Why ``value`` cannot be a repeat count as stored (None when it can): a whole number from 1
    to MAX_REPEAT, or (``expressions``: inside a block definition) an expression's text."""
    if isinstance(value, str):
        if not expressions:
            return (
                f"{value!r} is not a whole number; a repeat count is an expression only inside a "
                "block definition (over the block's parameters), elsewhere a number such as 4"
            )
        try:
            names_in(value)
        except ExprError as exc:
            return f"{value!r} is not an expression: {exc}"
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        kind = type(value).__name__ if value is not None else "null"
        return f"expected a whole number from 1 to {MAX_REPEAT}, got {kind} {value!r}"[:160]
    if value < 1:
        few = f"{value} copies" if value > -(10**6) else "a negative count"
        return f"{few} is too few; give a whole number from 1 to {MAX_REPEAT}"
    if value > MAX_REPEAT:
        return f"more than {MAX_REPEAT} copies; give a whole number from 1 to {MAX_REPEAT}"
    return None


def evaluated(value: Any) -> int:
    """An evaluated repeat expression as a count; ExprError when it is not a valid one."""
    problem = value_problem(value)
    if problem is not None:
        raise ExprError(f"repeat: {problem}")
    return value


def repeatable(spec) -> bool:
    """True for a module block (torch module or composite) with one required input (optional
    ones, such as masks, stay unwired) and one output."""
    return (
        (spec.torch is not None or spec.composite is not None)
        and not spec.variadic
        and len(spec.required_inputs) == 1
        and len(spec.outputs) == 1
    )


def not_repeatable(node_id: str, spec) -> Issue:
    return Issue(
        node_id,
        None,
        spec.name,
        "repeat",
        f"{spec.name} cannot repeat: only a module block with one input and one output can",
        "remove the repeat, or repeat a block (or group these nodes into one) of one input "
        "and one output",
    )


def apply(
    node_id: str,
    spec,
    values: dict,
    info: NodeInfo,
    n: int,
    count: Callable[[Any, dict, tuple], int],
) -> NodeInfo | list[Issue]:
    """``info`` (one application) extended to ``n`` copies, or the issue saying why it cannot.

    ``count(spec, values, in_specs)`` counts one copy's parameters."""
    first = info.out_specs[0]
    if n == 1:
        return replace(info, repeat=1)
    if first == info.in_specs[0]:
        return replace(info, params=n * info.params, repeat=n)
    try:
        again = spec.infer(values, [first])
        again = again[0] if isinstance(again, list) else again
        rest = count(spec, values, (first,))
    except (ShapeError, NestedError) as exc:
        detail = exc.message if isinstance(exc, ShapeError) else str(exc.issues[0])
        return [_issue(node_id, spec, first, info.in_specs[0], detail)]
    if again != first:
        return [_issue(node_id, spec, again, first, "")]
    return replace(info, params=info.params + (n - 1) * rest, repeat=n)


def _issue(node_id: str, spec, out, into, detail: str) -> Issue:
    message = (
        "repeat needs a block whose output can feed its input: "
        f"out {format_spec(out)} vs in {format_spec(into)}"
    )
    return Issue(
        node_id, None, spec.name, "repeat", message + (f" ({detail})" if detail else ""), HINT
    )


def copies(info: NodeInfo) -> list[tuple[NodeInfo, int]]:
    """(what one copy sees, how many copies see it): the first copy, then the others (which
    read the node's own output). A node without a repeat is one copy."""
    n = info.repeat or 1
    if n == 1:
        return [(info, 1)]
    rest = replace(info, in_specs=info.out_specs)
    if rest.in_specs == info.in_specs:
        return [(info, n)]
    return [(info, 1), (rest, n - 1)]


def suffix(info: NodeInfo | None) -> str:
    """`` ×4`` for a repeated node, else empty."""
    return f" ×{info.repeat}" if info is not None and info.repeat is not None else ""


def titled(label: str, data: dict) -> str:
    """A node's canvas title: its label, then ``×4`` (inside a block ``×depth``) if repeated."""
    return f"{label} ×{data['repeat']}" if "repeat" in data else label


def shown(data: dict) -> str:
    """A node's repeat count as a text field shows it (empty when not repeated)."""
    return str(data["repeat"]) if "repeat" in data else ""
