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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from designer.core.cost import total_cost
from designer.core.expr import ExprError, evaluate
from designer.core.graph import Design
from designer.core.params import Param
from designer.core.registry import BlockSpec
from designer.core.shapes import NestedError, Shape
from designer.core.validate import Issue, freeze, validate

IMPLICIT = ("in_channels", "in_features")  # names an expression may read besides declared params


def is_expr(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"expr"}


@dataclass(frozen=True)
class Instance:
    """A composite block with concrete parameters: its resolved body and the body's analysis."""

    body: Design
    report: Any  # designer.core.validate.Report
    env: dict[str, Any]

    def cost(self):
        """The body's total cost per sample (a designer.core.cost.Cost)."""
        return total_cost(self.body, self.report)


@dataclass(eq=False)
class CompositeDef:
    """A block made of blocks."""

    name: str
    body: Design
    params: tuple[Param, ...] = ()
    category: str = "Blocks"
    doc: str = ""
    spec: BlockSpec = field(init=False)
    _cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.spec = BlockSpec(
            name=self.name,
            category=self.category,
            doc=self.doc,
            params=tuple(self.params),
            inputs=self.input_ports,
            outputs=self.output_ports,
            shape=self._shape,
            count=lambda p, shapes: self.instantiate(p, shapes).report.total_params,
            macs=lambda p, ins, outs: self.instantiate(p, ins).cost().macs,
            composite=self,
        )

    @property
    def input_ports(self) -> tuple[str, ...]:
        return tuple(self.body.nodes_of_type("Input"))

    @property
    def output_ports(self) -> tuple[str, ...]:
        return tuple(self.body.nodes_of_type("Output"))

    def env(self, values: Mapping[str, Any], in_shapes: list[Shape]) -> dict[str, Any]:
        """The names an inner expression may read."""
        first = in_shapes[0] if in_shapes else ()
        return {
            **values,
            "in_channels": first[1] if len(first) > 1 else None,
            "in_features": first[-1] if first else None,
        }

    def resolve(self, values: Mapping[str, Any], in_shapes: list[Shape]) -> tuple[Design, dict]:
        """The body with every expression evaluated and every inactive node bypassed."""
        env = self.env(values, in_shapes)
        body = Design(self.name)
        body.blocks = self.body.blocks
        issues: list[Issue] = []
        bypass: dict[str, tuple[str, str]] = {}
        for node_id in self.body.node_ids():
            data = self.body.node(node_id)
            try:
                if "when" in data and not evaluate(data["when"], env):
                    bypass[node_id] = self.body.inputs_of(node_id).get("in") or next(
                        iter(self.body.inputs_of(node_id).values())
                    )
                    continue
                params = {
                    k: evaluate(v["expr"], env) if is_expr(v) else v
                    for k, v in data["params"].items()
                }
            except ExprError as exc:
                issues.append(
                    Issue(node_id, None, data["type"], "expr", str(exc), "fix the expression")
                )
                continue
            body.graph.add_node(
                node_id, type=data["type"], params=params, label=data["label"], pos=data["pos"]
            )
        if issues:
            raise NestedError(issues)
        for src, src_port, dst, dst_port in self.body.edges():
            if dst in bypass:
                continue
            while src in bypass:
                src, src_port = bypass[src]
            body.graph.add_edge(src, dst, key=dst_port, src_port=src_port, dst_port=dst_port)
        return body, env

    def instantiate(self, values: Mapping[str, Any], in_shapes: list[Shape]) -> Instance:
        """Resolve and analyse the body for these parameters and input shapes (memoised)."""
        key = (freeze(values), tuple(in_shapes))
        hit = self._cache.get(key)
        if hit is None:
            body, env = self.resolve(values, in_shapes)
            report = validate(body, dict(zip(self.input_ports, in_shapes, strict=True)))
            hit = self._cache[key] = Instance(body, report, env)
            if len(self._cache) > 4096:
                self._cache.pop(next(iter(self._cache)))
        return hit

    def _shape(self, values: Mapping[str, Any], in_shapes: list[Shape]) -> list[Shape]:
        instance = self.instantiate(values, in_shapes)
        errors = [i for i in instance.report.issues if i.severity == "error"]
        if errors:
            raise NestedError(errors)
        return [instance.report.nodes[o].in_shapes[0] for o in self.output_ports]


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
