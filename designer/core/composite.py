"""Composite blocks: a block defined as a small design of its own, with declared parameters.

As a Keras functional model is itself a layer, a composite's body is a
:class:`~designer.core.graph.Design`
whose ``Input`` nodes are its input ports and whose ``Output`` nodes are its output ports (in body
order). Inner parameters may be ``{"expr": "mid_channels or out_channels"}``, evaluated with the
declared parameters plus ``in_channels`` and ``in_features`` (dimension 1 and the last dimension of
the first input). A node with ``when`` exists only while its expression is true; otherwise it is
bypassed (its single input flows straight to its consumers), which is how Up's ``bilinear`` switch
chooses between a transposed convolution and an upsampling.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from designer.core.expr import ExprError, evaluate
from designer.core.graph import Design
from designer.core.params import Param
from designer.core.registry import BlockSpec
from designer.core.repeat import evaluated
from designer.core.shapes import NestedError
from designer.core.tensor import TensorSpec, as_spec
from designer.core.validate import Issue, Report, analyze, freeze
from designer.core.walk import ordered_inputs
from designer.core.wiring import Edge, Wiring

IMPLICIT = ("in_channels", "in_features")  # names an expression may read besides declared params


def implicit_values(in_shapes: list) -> dict[str, Any]:
    """``in_channels`` (dimension 1) and ``in_features`` (the last) of a body's first input, from
    shapes, symbolic shapes or TensorSpecs: the one definition of both names."""
    first = in_shapes[0] if in_shapes else ()
    first = first.shape if isinstance(first, TensorSpec) else first
    return {
        "in_channels": first[1] if len(first) > 1 else None,
        "in_features": first[-1] if first else None,
    }


CACHE_MAX = 4096  # instances memoised per block
PREPARED_CHOICES = 3  # conditional nodes up to which every choice's wiring is made on definition


def is_expr(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"expr"}


class Instance:
    """A composite block with concrete parameters: its resolved body and the body's analysis.

    The body (a Design) is built when first read: validation needs only the analysis, and the
    memory estimate only the analysis and the body's ``wiring`` (its resolved nodes and wires)."""

    def __init__(
        self, report: Report, env: dict[str, Any], build: Callable[[], Design], wiring: Wiring
    ):
        self.report = report
        self.env = env
        self.wiring = wiring
        self._build = build

    @cached_property
    def body(self) -> Design:
        return self._build()

    def cost(self):
        """The body's total cost per sample (a designer.core.cost.Cost)."""
        from designer.core.cost import total_cost  # only costs need it: check stays light

        return total_cost(self.body, self.report)


class _Template:
    """A definition's body as resolution reads it: nodes, wires, each conditional node's input,
    and per node its ``when``, its fixed parameters and its parameter expressions."""

    __slots__ = ("bypass_source", "edges", "nodes", "params")

    def __init__(
        self,
        nodes: tuple[tuple[str, dict], ...],
        edges: tuple[Edge, ...],
        bypass_source: dict[str, tuple[str, str] | None],
        params: dict[str, tuple[str | None, dict, tuple[tuple[str, str], ...]]],
    ) -> None:
        self.nodes = nodes
        self.edges = edges
        self.bypass_source = bypass_source
        self.params = params


class CompositeDef:
    """A block made of blocks. Its body is not edited in place: an edit makes a new definition.
    Definitions compare by identity."""

    def __init__(
        self,
        name: str,
        body: Design,
        params: tuple[Param, ...] = (),
        category: str = "Blocks",
        doc: str = "",
    ) -> None:
        self.name = name
        self.body = body
        self.params = params
        self.category = category
        self.doc = doc
        self._cache: dict = {}
        self._by_shapes: dict = {}
        self._wirings: dict = {}
        self._last: tuple = (None, None)  # the last instance inferred
        self.spec = BlockSpec(
            name=self.name,
            category=self.category,
            doc=self.doc,
            params=tuple(self.params),
            inputs=self.input_ports,
            outputs=self.output_ports,
            tensor_rule=self._infer,
            count=self._count,
            macs=lambda p, ins, outs: self.instantiate(p, ins).cost().macs,
            composite=self,
        )
        self._prepare()

    def __repr__(self) -> str:
        return f"CompositeDef({self.name!r}, {len(self.body)} nodes, {len(self.params)} params)"

    def _prepare(self) -> None:
        """Read the body once, as it is complete now, with the wiring of each choice of
        conditional nodes when they are few: the first validation then only infers."""
        conditional = [n for n, s in self._template.bypass_source.items() if s is not None]
        if len(conditional) <= PREPARED_CHOICES:
            for chosen in itertools.product((False, True), repeat=len(conditional)):
                bypassed = [n for n, on in zip(conditional, chosen, strict=True) if on]
                self._wiring({n: self._template.bypass_source[n] for n in bypassed})

    @property
    def input_ports(self) -> tuple[str, ...]:
        return tuple(self.body.nodes_of_type("Input"))

    @property
    def output_ports(self) -> tuple[str, ...]:
        return tuple(self.body.nodes_of_type("Output"))

    def env(self, values: Mapping[str, Any], in_shapes: list) -> dict[str, Any]:
        """The names an inner expression may read (inputs as shapes or TensorSpecs)."""
        return {**values, **implicit_values(in_shapes)}

    def instantiate(self, values: Mapping[str, Any], in_shapes: list) -> Instance:
        """Resolve and analyse the body for these parameters and inputs (memoised).

        Inputs are TensorSpecs or shape tuples; for tuples, the instance last made for specs of
        those sizes is reused (so that counts and code see the dtypes validation saw)."""
        frozen = _values_key(values)
        specs = tuple([as_spec(s) for s in in_shapes])
        shapes = tuple([s.shape for s in specs])
        if in_shapes and not isinstance(in_shapes[0], TensorSpec):  # sizes: as validation saw them
            hit = self._by_shapes.get((frozen, shapes))
            if hit is not None:
                return hit
        hit = self._cache.get((frozen, specs))
        if hit is None:
            hit = self._cache[frozen, specs] = self._instance(values, specs)
            _bound(self._cache)
        self._by_shapes[frozen, shapes] = hit
        _bound(self._by_shapes)
        return hit

    def forget(self) -> None:
        """Drop every memoised instance."""
        self._cache.clear()
        self._by_shapes.clear()
        self._last = (None, None)

    def _instance(self, values: Mapping[str, Any], specs: tuple[TensorSpec, ...]) -> Instance:
        env = self.env(values, list(specs))
        nodes, bypassed = self._resolve(env)
        wiring, edges = self._wiring(bypassed)
        inputs = dict(zip(self.spec.inputs, specs, strict=True))
        resolved = wiring.with_nodes(nodes)
        report = analyze(self.body, resolved, inputs)
        return Instance(report, env, lambda: self._body_design(nodes, edges), resolved)

    def _wiring(self, bypassed: Mapping[str, tuple[str, str]]) -> tuple[Wiring, list[Edge]]:
        """The body's wiring and wires with these nodes bypassed (computed once per choice)."""
        key = frozenset(bypassed.items())
        found = self._wirings.get(key)
        if found is None:
            edges = _bypassed_edges(self._template.edges, bypassed)
            active = {n: d for n, d in self._template.nodes if n not in bypassed}
            wiring = Wiring.of_edges(active, edges)
            wiring.structural_issues  # noqa: B018  (computed once, shared by every instance)
            found = self._wirings[key] = (wiring, edges)
        return found

    @cached_property
    def _template(self) -> _Template:
        bypass = {}
        for node_id in self.body.node_ids():
            if "when" in self.body.node(node_id):
                wires = ordered_inputs(self.body, node_id)
                bypass[node_id] = wires[0] if wires else None
        nodes = tuple((n, self.body.node(n)) for n in self.body.node_ids())
        params = {n: _split_params(data) for n, data in nodes}
        return _Template(nodes, tuple(self.body.edges()), bypass, params)

    def _resolve(self, env: Mapping[str, Any]) -> tuple[dict[str, dict], dict]:
        """The body's active nodes (type, evaluated params), and the bypassed ones with their
        sources: a node whose ``when`` is false lets its input flow straight to its consumers."""
        template = self._template
        nodes: dict[str, dict] = {}
        bypass: dict[str, tuple[str, str]] = {}
        issues: list[Issue] = []
        for node_id, data in template.nodes:
            when, fixed, exprs = template.params[node_id]
            try:
                if when is not None and not evaluate(when, env):
                    bypass[node_id] = _bypass_source(template, node_id)
                    continue
                params = dict(fixed)
                for key, text in exprs:
                    params[key] = evaluate(text, env)
                resolved = {"type": data["type"], "params": params}
                if "repeat" in data:
                    resolved["repeat"] = _repeat_count(data["repeat"], env)
            except ExprError as exc:
                issues.append(
                    Issue(node_id, None, data["type"], "expr", str(exc), "fix the expression")
                )
                continue
            nodes[node_id] = resolved
        if issues:
            raise NestedError(issues)
        return nodes, bypass

    def _body_design(self, nodes: Mapping[str, dict], edges: list[Edge]) -> Design:
        body = Design(self.name)
        body.blocks = self.body.blocks
        for node_id, attrs in nodes.items():
            data = self.body.node(node_id)
            body.graph.add_node(node_id, **attrs, label=data["label"], pos=data["pos"])
        for src, src_port, dst, dst_port in edges:
            body.graph.add_edge(src, dst, key=dst_port, src_port=src_port, dst_port=dst_port)
        return body

    def _infer(self, values: Mapping[str, Any], in_specs: list[TensorSpec]) -> list[TensorSpec]:
        instance = self.instantiate(values, in_specs)
        self._last = (values, instance)  # validation counts right after, with these values
        errors = [i for i in instance.report.issues if i.severity == "error"]
        if errors:
            raise NestedError(errors)
        return [instance.report.nodes[o].in_specs[0] for o in self.spec.outputs]

    def _count(self, values: Mapping[str, Any], in_shapes: list) -> int:
        last = self._last
        instance = last[1] if last[0] is values else self.instantiate(values, in_shapes)
        return instance.report.total_params


def _split_params(data: dict) -> tuple[str | None, dict, tuple[tuple[str, str], ...]]:
    """A body node's ``when``, its parameters (expressions to be evaluated in place), and its
    expressions as (parameter, text)."""
    exprs = tuple((k, v["expr"]) for k, v in data["params"].items() if is_expr(v))
    return data.get("when"), dict(data["params"]), exprs


def _repeat_count(value: Any, env: Mapping[str, Any]) -> Any:
    """A body node's repeat count for these parameters (an expression evaluated and checked)."""
    return evaluated(evaluate(value, env)) if isinstance(value, str) else value


def _bypass_source(template: _Template, node_id: str) -> tuple[str, str]:
    source = template.bypass_source[node_id]
    if source is None:
        raise ExprError(f"{node_id} is conditional but has no input wire to bypass it with")
    return source


def _bypassed_edges(edges: tuple[Edge, ...], bypass: Mapping[str, tuple[str, str]]) -> list[Edge]:
    """The wires with every bypassed node skipped over (in the order the body lists them)."""
    out = []
    for src, src_port, dst, dst_port in edges:
        if dst in bypass:
            continue
        for _ in range(len(bypass) + 1):
            if src not in bypass:
                break
            src, src_port = bypass[src]
        out.append((src, src_port, dst, dst_port))
    return out


def _values_key(values: Mapping[str, Any]) -> Any:
    """Parameter values as a memo key, in any order: checked values hash as they are."""
    try:
        return frozenset(values.items())
    except TypeError:  # a raw value (a list) from a caller that did not check them
        return freeze(values)


def _bound(cache: dict) -> None:
    if len(cache) > CACHE_MAX:
        cache.pop(next(iter(cache)))


MAX_NESTING = 32  # blocks inside blocks, deepest chain; deeper designs are refused on load


def block_uses(blocks: Mapping[str, CompositeDef]) -> dict[str, set[str]]:
    """For each block of a design, the design's blocks its body instantiates directly."""
    return {
        name: {data["type"] for _, data in block.body.graph.nodes(data=True)} & set(blocks)
        for name, block in blocks.items()
    }


def nesting_problem(blocks: Mapping[str, CompositeDef]) -> tuple[str, str] | None:
    """(block, message) when blocks contain themselves or nest deeper than MAX_NESTING."""
    uses = block_uses(blocks)
    depth: dict[str, int] = {}
    for start in sorted(uses):
        path: list[str] = []
        stack = [(start, iter(sorted(uses[start])))]
        on_path = {start}
        path.append(start)
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop(), path.pop(), on_path.discard(name)
                depth[name] = 1 + max((depth[c] for c in uses[name]), default=0)
                if depth[name] > MAX_NESTING:
                    return name, (
                        f"blocks nest {depth[name]} levels deep here, more than {MAX_NESTING}; "
                        "flatten some of them"
                    )
                continue
            if child in on_path:
                loop = " -> ".join([*path[path.index(child) :], child])
                return child, f"block {child} contains itself ({loop}); remove one of these nodes"
            if child not in depth:
                stack.append((child, iter(sorted(uses[child])))), path.append(child)
                on_path.add(child)
    return None
