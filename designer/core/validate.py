"""Shape inference and validation: one walk over the design, issues collected as records.

:func:`validate` never raises for a bad design; it returns a :class:`Report` holding every node's
inferred shapes and parameter count and a list of :class:`Issue` (node, port, code, message, hint).
An :class:`Analyzer` keeps a memo per node so that, after an edit, only nodes whose block type,
parameters or input shapes changed are computed again.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from designer.core.graph import Design
from designer.core.registry import REGISTRY, UnknownBlockError
from designer.core.shapes import NestedError, Shape, ShapeError, format_shape


@dataclass(frozen=True)
class Issue:
    """One problem, anchored to a node (``up1/cat`` inside composites) and maybe a port."""

    node: str | None
    port: str | None
    block: str | None
    code: str
    message: str
    hint: str = ""
    severity: str = "error"
    param: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.node is not None:
            where = f"{self.block} `{self.node}`" if self.block else f"`{self.node}`"
            where += f" {self._port_text()}: " if self.port else ": "
        hint = f"; {self.hint}" if self.hint else ""
        return f"{where}{self.message}{hint}"

    def _port_text(self) -> str:
        return f"port {self.port}"

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(slots=True)
class NodeInfo:
    """What inference found for one node."""

    block: str
    values: dict[str, Any]
    in_shapes: tuple[Shape, ...]
    out_shapes: tuple[Shape, ...]
    params: int
    ports: tuple[str, ...] = ()  # output port names, parallel to out_shapes

    @property
    def shape(self) -> Shape | None:
        """The shape to show on the node: its first output (an Output node shows its input)."""
        if self.out_shapes:
            return self.out_shapes[0]
        return self.in_shapes[0] if self.in_shapes else None


@dataclass
class Report:
    """The result of validating a design."""

    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    seconds: float = 0.0
    recomputed: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def total_params(self) -> int:
        return sum(info.params for info in self.nodes.values())

    def issues_for(self, node_id: str) -> list[Issue]:
        """Issues of a node, including those inside it when it is a composite instance."""
        return [
            i for i in self.issues if i.node == node_id or (i.node or "").startswith(node_id + "/")
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "total_params": self.total_params,
            "nodes": [
                {
                    "id": n,
                    "block": info.block,
                    "shape": None if info.shape is None else list(info.shape),
                    "output_shapes": [list(s) for s in info.out_shapes],
                    "params": info.params,
                }
                for n, info in ((n, self.nodes[n]) for n in self.order if n in self.nodes)
            ],
            "issues": [i.to_json() for i in self.issues],
        }


_SCALARS = (int, float, str, bool, type(None))


def freeze(value: Any) -> Any:
    """A hashable copy of a params value (lists and dicts become tuples)."""
    if isinstance(value, dict):
        return tuple(
            sorted((k, v if isinstance(v, _SCALARS) else freeze(v)) for k, v in value.items())
        )
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


class Analyzer:
    """Validation with a memo per node, for interactive editing."""

    def __init__(self) -> None:
        self._memo: dict[str, tuple[Any, Any]] = {}

    def run(self, design: Design, input_shapes: Mapping[str, Shape] | None = None) -> Report:
        start = time.perf_counter()
        report = Report()
        wires = Wiring(design)
        _global_checks(design, wires, report)
        report.order = _order(design, wires, report)
        overrides = input_shapes or {}
        nodes = dict(design.graph.nodes(data=True))
        for node_id in report.order:
            self._visit(design, wires, node_id, report, overrides, nodes)
        if len(self._memo) > len(report.order):
            for stale in set(self._memo) - set(design.graph):
                del self._memo[stale]
        report.seconds = time.perf_counter() - start
        return report

    def _visit(
        self, design: Design, wires: Wiring, node_id: str, report: Report, overrides, nodes
    ) -> None:
        data = nodes[node_id]
        spec = _spec_or_none(design, data["type"])
        in_shapes = _input_shapes(design, wires, spec, node_id, report)
        if in_shapes is None:
            return
        key = (
            data["type"],
            id(spec),
            freeze(data["params"]),
            in_shapes,
            overrides.get(node_id),
            wires.signature(node_id),
        )
        memo = self._memo.get(node_id)  # holds the spec too, so its id cannot be reused meanwhile
        if memo is None or memo[0] != key or memo[2] is not spec:
            result = _shared(design, wires, spec, node_id, data, in_shapes, overrides, key)
            memo = self._memo[node_id] = (key, result, spec)
            report.recomputed += 1
        result = memo[1]
        if isinstance(result, NodeInfo):
            report.nodes[node_id] = result
        else:
            report.issues.extend(result)


class Wiring:
    """Every node's wires in and out, gathered in one pass over the edges."""

    def __init__(self, design: Design) -> None:
        self.into: dict[str, dict[str, tuple[str, str]]] = {n: {} for n in design.graph}
        self.out_of: dict[str, list[tuple[str, str, str]]] = {n: [] for n in design.graph}
        for src, targets in design.graph.adjacency():
            for dst, keyed in targets.items():
                for port, data in keyed.items():
                    self.into[dst][port] = (src, data["src_port"])
                    self.out_of[src].append((data["src_port"], dst, port))

    def signature(self, node_id: str) -> tuple:
        """What a node's wiring issues depend on: its port names in and out."""
        return tuple(self.into[node_id]), tuple(p for p, _, _ in self.out_of[node_id])


def _spec_or_none(design: Design, block: str):
    try:
        return design.spec(block)
    except UnknownBlockError:
        return None


def validate(design: Design, input_shapes: Mapping[str, Shape] | None = None) -> Report:
    """Infer every shape and collect every issue. ``input_shapes`` overrides Input nodes by id."""
    return Analyzer().run(design, input_shapes)


# -- the walk -----------------------------------------------------------------------------------


def _order(design: Design, wires: Wiring, report: Report) -> list[str]:
    """Topological order (Kahn's algorithm, stable); nodes on a cycle are reported and left out."""
    pending = {n: len({src for src, _ in wires.into[n].values()}) for n in wires.into}
    ready = [n for n, count in pending.items() if count == 0]
    order: list[str] = []
    while ready:
        node_id = ready.pop()
        order.append(node_id)
        for dst in dict.fromkeys(dst for _, dst, _ in wires.out_of[node_id]):
            pending[dst] -= 1
            if pending[dst] == 0:
                ready.append(dst)
    if len(order) < len(pending):
        _report_cycles(design, report)
    return order


def _report_cycles(design: Design, report: Report) -> None:
    graph = design.graph
    for component in nx.strongly_connected_components(graph):
        first = next(iter(component))
        if len(component) > 1 or graph.has_edge(first, first):
            members = sorted(component)
            for node_id in members:
                others = ", ".join(m for m in members if m != node_id) or "itself"
                report.issues.append(
                    Issue(
                        node_id,
                        None,
                        graph.nodes[node_id]["type"],
                        "cycle",
                        f"is on a cycle with {others}",
                        "remove one of the wires that loop back",
                    )
                )


def _input_shapes(design: Design, wires: Wiring, spec, node_id: str, report: Report):
    """The shapes wired into a node, by port order; None if an upstream shape is unknown."""
    if spec is None:
        return ()
    into = wires.into[node_id]
    ordered = (
        sorted(into.items(), key=lambda kv: _port_order(spec, kv[0]))
        if len(into) > 1
        else into.items()
    )
    shapes = []
    for _, (src, src_port) in ordered:
        info = report.nodes.get(src)
        if info is None:
            return None
        try:
            shapes.append(info.out_shapes[info.ports.index(src_port)])
        except (ValueError, IndexError):
            return None
    return tuple(shapes)


def _port_order(spec, port: str) -> int:
    index = spec.port_index(port)
    return 10**6 if index is None else index


_SHARED: dict[tuple, tuple[Any, NodeInfo]] = {}  # results shared by identical nodes anywhere
_SHARED_MAX = 50_000


def _shared(design, wires, spec, node_id, data, in_shapes, overrides, key) -> Any:
    """``_infer``, reusing the result of an identical node (same spec, params and input shapes):
    designs repeat their blocks, and a repeated block's shapes and counts are the same."""
    hit = _SHARED.get(key[:5])
    if hit is not None and hit[0] is spec and not _wiring_issues(wires, node_id, spec):
        return hit[1]
    result = _infer(design, wires, spec, node_id, data, in_shapes, overrides)
    if isinstance(result, NodeInfo):
        if len(_SHARED) >= _SHARED_MAX:
            _SHARED.clear()
        _SHARED[key[:5]] = (spec, result)
    return result


def _infer(
    design: Design,
    wires: Wiring,
    spec,
    node_id: str,
    data: dict,
    in_shapes: tuple,
    overrides: Mapping,
):
    """NodeInfo for one node, or the list of its issues."""
    block = data["type"]
    if spec is None:
        known = [s.name for s in REGISTRY] + list(design.blocks)
        close = difflib.get_close_matches(block, known, n=1)
        hint = f"did you mean {close[0]}?" if close else "pick a block type from the palette"
        return [Issue(node_id, None, block, "unknown-type", f"unknown block type {block!r}", hint)]
    issues = _wiring_issues(wires, node_id, spec)
    values, errors = spec.resolve(data["params"])
    issues += [
        Issue(node_id, None, block, "param", e.message, e.hint, param=name) for name, e in errors
    ]
    if issues:
        return issues
    if block == "Input" and node_id in overrides:
        out = [tuple(overrides[node_id])]
        if len(out[0]) < 1:
            return [
                Issue(node_id, None, block, "param", "the input shape is empty", "give N,C,...")
            ]
    else:
        try:
            result = spec.shape(values, list(in_shapes))
        except NestedError as exc:
            return [_nested(node_id, i) for i in exc.issues]
        except ShapeError as exc:
            port = None if exc.port is None else _port_name(wires, node_id, spec, exc.port)
            return [Issue(node_id, port, block, exc.code, exc.message, exc.hint)]
        out = result if isinstance(result, list) else [result] if spec.outputs else []
    try:
        count = spec.count(values, list(in_shapes))
    except NestedError as exc:
        return [_nested(node_id, i) for i in exc.issues]
    return NodeInfo(block, values, in_shapes, tuple(out), count, spec.outputs)


def _nested(parent: str, issue: Issue) -> Issue:
    """An issue inside a composite instance, re-anchored as ``parent/inner``."""
    node = parent if issue.node is None else f"{parent}/{issue.node}"
    return Issue(
        node,
        issue.port,
        issue.block,
        issue.code,
        issue.message,
        issue.hint,
        issue.severity,
        issue.param,
    )


def _port_name(wires: Wiring, node_id: str, spec, index: int) -> str:
    ports = spec.input_ports(len(wires.into[node_id]))
    return ports[index] if index < len(ports) else str(index)


def _wiring_issues(wiring: Wiring, node_id: str, spec) -> list[Issue]:
    """Unknown ports, unconnected inputs, gaps in variadic inputs."""
    wires = wiring.into[node_id]
    outs = spec.outputs
    if (
        not spec.variadic
        and len(wires) == len(spec.inputs)
        and all(p in wires for p in spec.inputs)
        and all(p in outs for p, _, _ in wiring.out_of[node_id])
    ):
        return []  # the common case, checked cheaply
    issues = []
    for port in wires:
        if spec.port_index(port) is None:
            known = ", ".join(spec.input_ports(len(wires))) or "none"
            issues.append(
                Issue(
                    node_id,
                    port,
                    spec.name,
                    "unknown-port",
                    f"has no input port {port!r}",
                    f"its inputs are: {known}",
                )
            )
    for src_port, dst, _ in wiring.out_of[node_id]:
        if src_port not in spec.outputs:
            known = ", ".join(spec.outputs) or "none"
            issues.append(
                Issue(
                    node_id,
                    src_port,
                    spec.name,
                    "unknown-port",
                    f"has no output port {src_port!r} (wired to {dst})",
                    f"its outputs are: {known}",
                )
            )
    wired = {spec.port_index(p) for p in wires} - {None}
    needed = max(spec.min_inputs, max(wired, default=-1) + 1) if spec.variadic else len(spec.inputs)
    for index in range(needed):
        if index not in wired:
            port = spec.input_ports(needed)[index] if spec.variadic else spec.inputs[index]
            issues.append(
                Issue(
                    node_id,
                    port,
                    spec.name,
                    "unconnected",
                    f"input {port} is not connected",
                    "wire an output into it or delete the node",
                )
            )
    return issues


def _global_checks(design: Design, wires: Wiring, report: Report) -> None:
    """Whole-design issues: no input or output, outputs that lead nowhere."""
    types = {n: d["type"] for n, d in design.graph.nodes(data=True)}
    if "Input" not in types.values():
        report.issues.append(
            Issue(
                None,
                None,
                None,
                "no-input",
                "the design has no Input block",
                "add an Input block and wire it to the first layer",
            )
        )
    if "Output" not in types.values():
        report.issues.append(
            Issue(
                None,
                None,
                None,
                "no-output",
                "the design has no Output block",
                "add an Output block after the last layer",
            )
        )
    for node_id, block in types.items():
        if block != "Output" and not wires.out_of[node_id]:
            report.issues.append(
                Issue(
                    node_id,
                    None,
                    block,
                    "dangling",
                    "its output is not used",
                    "wire it onward or delete it",
                    severity="warning",
                )
            )


def describe(report: Report, node_id: str) -> str:
    """One line for a node: shape and parameter count."""
    info = report.nodes.get(node_id)
    if info is None:
        return "?"
    return f"{format_shape(info.shape)}  {info.params:,} params"
