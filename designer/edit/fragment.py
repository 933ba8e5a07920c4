"""What a copy holds: nodes, the wires among them, and what their expressions evaluated to.

A fragment is taken from one design and may be inserted into another (another scope, another
block body), so :func:`fit_node` adapts each node to what the receiving design can hold.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from designer.core.composite import is_expr
from designer.core.expr import ExprError, names_in
from designer.core.graph import Design
from designer.core.validate import Report


@dataclass
class Fragment:
    """Copied nodes with the wires among them (wires to outside nodes are left behind)."""

    nodes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    wires: list[tuple[str, str, str, str]] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # expressions, evaluated
    repeats: dict[str, int] = field(default_factory=dict)  # repeat expressions, evaluated

    def __len__(self) -> int:
        return len(self.nodes)


def take_fragment(design: Design, nodes: Iterable[str], report: Callable[[], Report]) -> Fragment:
    """Copy ``nodes`` of ``design`` (unknown ids skipped) with the wires among them.

    ``report`` gives the design's validation report; it is asked only when an expression needs it.
    """
    chosen = [n for n in dict.fromkeys(nodes) if n in design]
    inside = set(chosen)
    counted = [n for n in chosen if isinstance(design.node(n).get("repeat"), str)]
    infos = report().nodes if counted else {}
    return Fragment(
        [(n, copy.deepcopy(dict(design.node(n)))) for n in chosen],
        [w for w in design.edges() if w[0] in inside and w[2] in inside],
        _expression_values(design, chosen, report),
        {n: infos[n].repeat for n in counted if n in infos and infos[n].repeat},
    )


def _expression_values(
    design: Design, nodes: list[str], report: Callable[[], Report]
) -> dict[str, dict]:
    """What the nodes' expressions evaluate to here, for a paste where they cannot."""
    values = {}
    for n in nodes:
        exprs = [k for k, v in design.node(n)["params"].items() if is_expr(v)]
        info = report().nodes.get(n) if exprs else None
        if info is not None:
            values[n] = {k: info.values[k] for k in exprs if k in info.values}
    return values


def fit_node(
    node_id: str, attrs: dict[str, Any], fragment: Fragment, names: set[str]
) -> dict[str, Any]:
    """A copied node as a design whose expressions may read ``names`` can hold it.

    Expressions reading other names become their values where known (else defaults), and a
    condition stays only with its names and an input wire.
    """
    values = fragment.values.get(node_id, {})
    params = {}
    for key, value in attrs["params"].items():
        if not is_expr(value) or _reads_only(value["expr"], names):
            params[key] = value
        elif key in values:
            params[key] = copy.deepcopy(values[key])
    fitted = {**attrs, "params": params}
    wired = sum(w[2] == node_id for w in fragment.wires)
    if "when" in fitted and (not wired or not _reads_only(fitted["when"], names)):
        del fitted["when"]
    count = fitted.get("repeat")
    if isinstance(count, str) and not _reads_only(count, names):  # its value here, else one copy
        fitted["repeat"] = fragment.repeats.get(node_id, 1)
    return fitted


def _reads_only(text: str, names: set[str]) -> bool:
    """True when an expression parses and reads nothing but ``names``."""
    try:
        return names_in(text) <= names
    except ExprError:
        return False
