"""Grouping a scope's nodes into units: chains, conditional pairs, functional ops and parallel
branches. Each unit becomes one attribute (none for a functional op) and one forward step."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import networkx as nx

from designer.core.graph import Design
from designer.core.placement import tag_of
from designer.core.walk import ordered_inputs
from designer.live.plan_types import PlanError


def node_kind(design: Design, node_id: str) -> str:
    """``input``, ``output``, ``module`` (torch module or composite) or ``functional``."""
    block = design.node(node_id)["type"]
    if block in ("Input", "Output"):
        return block.lower()
    spec = design.spec(block)
    if spec.torch is not None or spec.composite is not None:
        return "module"
    if spec.functional is not None:
        return "functional"
    raise PlanError(f"node {node_id!r}: block {block} has neither a module nor a functional form")


def single_io(design: Design, node_id: str) -> bool:
    spec = design.spec(design.node(node_id)["type"])
    return (
        node_kind(design, node_id) == "module"
        and not spec.variadic
        and len(spec.inputs) == 1
        and len(spec.outputs) == 1
    )


def _sole_link(design: Design, a: str, b: str) -> bool:
    """True when ``a``'s only consumer is ``b`` and ``b``'s only input is ``a``."""
    outs = design.outputs_of(a)
    return len(outs) == 1 and outs[0][1] == b and len(design.inputs_of(b)) == 1


def _negation(a: str, b: str) -> bool:
    """True when one condition is ``not`` the other (compared as parsed trees)."""
    ta, tb = ast.parse(a.strip(), mode="eval").body, ast.parse(b.strip(), mode="eval").body

    def negates(x: ast.AST, y: ast.AST) -> bool:
        return (
            isinstance(x, ast.UnaryOp)
            and isinstance(x.op, ast.Not)
            and ast.dump(x.operand) == ast.dump(y)
        )

    return negates(ta, tb) or negates(tb, ta)


# -- grouping into units ------------------------------------------------------------------------


@dataclass
class Unit:
    kind: str  # module, sequential, choice, gate, functional, parallel
    nodes: list[str]
    when: list[str] = field(default_factory=list)
    branches: list[Unit] = field(default_factory=list)  # parallel only; nodes[-1] merges them

    @property
    def first(self) -> str:
        if self.kind == "parallel":
            return self.branches[0].first
        return self.nodes[0] if self.kind != "choice" else self._upstream

    @property
    def last(self) -> str:
        return self.nodes[-1] if self.kind != "choice" else self._downstream

    _upstream: str = ""
    _downstream: str = ""


def group_units(design: Design, order: list[str]) -> list[Unit]:
    """Group the scope's nodes into slots and functional steps (Input/Output excluded)."""
    taken: set[str] = set()
    units: list[Unit] = []
    for node_id in order:
        if node_id in taken or node_kind(design, node_id) in ("input", "output"):
            continue
        unit = _choice(design, node_id) or _chain(design, node_id)
        taken.update(unit.nodes)
        units.append(unit)
    return _group_branches(design, units)


# Merges that stack parallel branches side by side (Inception-style); element-wise merges (Add,
# Multiply) read as residuals or gates and keep their inputs as separate attributes.
_JOINS = frozenset({"Concat"})


def _group_branches(design: Design, units: list[Unit]) -> list[Unit]:
    """Concat nodes fed only by plain branches that all read one tensor become one container."""
    owner = {n: u for u in units for n in u.nodes}
    grouped: dict[int, Unit] = {}
    for unit in units:
        branches = _branches_of(design, unit, owner)
        if branches:
            group = Unit("parallel", [n for b in branches for n in b.nodes] + unit.nodes)
            group.branches = branches
            grouped[id(unit)] = group
            grouped.update({id(b): None for b in branches})
    return [grouped.get(id(u), u) for u in units if grouped.get(id(u), u) is not None]


def _branches_of(design: Design, unit: Unit, owner: dict[str, Unit]) -> list[Unit] | None:
    if unit.kind != "functional" or design.node(unit.nodes[0])["type"] not in _JOINS:
        return None
    branches = [owner.get(src) for src, _ in ordered_inputs(design, unit.nodes[0])]
    if len(branches) < 2 or len({id(b) for b in branches}) != len(branches):
        return None
    for branch in branches:
        if (
            branch is None
            or branch.kind not in ("module", "sequential")
            or not single_io(design, branch.first)
            or len(design.outputs_of(branch.last)) != 1
        ):
            return None
    sources = {tuple(ordered_inputs(design, b.first)) for b in branches}
    return branches if len(sources) == 1 and all(_one_place(design, b) for b in branches) else None


def _one_place(design: Design, branch: Unit) -> bool:
    """A branch runs on one device: a cut inside one keeps its branches apart (the only case in
    which placement changes the weights' names)."""
    return len({tag_of(design, n) for n in branch.nodes}) == 1


def _choice(design: Design, node_id: str) -> Unit | None:
    """A conditional node, merged with the next one when their conditions are complementary."""
    data = design.node(node_id)
    if "when" not in data:
        return None
    if not single_io(design, node_id):
        return _gate(design, node_id)
    nxt = design.outputs_of(node_id)
    other = nxt[0][1] if len(nxt) == 1 else None
    if (
        other is not None
        and "when" in design.node(other)
        and single_io(design, other)
        and _sole_link(design, node_id, other)
        and _negation(data["when"], design.node(other)["when"])
    ):
        pair = [node_id, other]
        conds = [data["when"], design.node(other)["when"]]
        first = ast.parse(conds[0].strip(), mode="eval").body
        if isinstance(first, ast.UnaryOp) and isinstance(first.op, ast.Not):  # `if bilinear:`
            pair, conds = pair[::-1], conds[::-1]
        unit = Unit("choice", pair, conds)
        unit._upstream, unit._downstream = node_id, other
        return unit
    unit = Unit("choice", [node_id], [data["when"]])
    unit._upstream = unit._downstream = node_id
    return unit


def _gate(design: Design, node_id: str) -> Unit:
    """A conditional node with several inputs (or a functional op): while its condition is
    false its first input flows through (a residual Add that exists only when shapes agree)."""
    if not design.inputs_of(node_id) or len(design.spec(design.node(node_id)["type"]).outputs) != 1:
        raise PlanError(f"node {node_id!r}: a conditional node needs an input and one output")
    return Unit("gate", [node_id], [design.node(node_id)["when"]])


def _chain(design: Design, node_id: str) -> Unit:
    """The longest chain of plain single-in/out modules starting at ``node_id``."""
    if node_kind(design, node_id) == "functional":
        return Unit("functional", [node_id])
    nodes = [node_id]
    while single_io(design, nodes[-1]) and not _alone(design, nodes[-1]):
        outs = design.outputs_of(nodes[-1])
        nxt = outs[0][1] if len(outs) == 1 else None
        if (
            nxt is None
            or not single_io(design, nxt)
            or _alone(design, nxt)
            or not _sole_link(design, nodes[-1], nxt)
        ):
            break
        nodes.append(nxt)
    return Unit("sequential" if len(nodes) > 1 else "module", nodes)


def _alone(design: Design, node_id: str) -> bool:
    """A conditional or repeated node is a unit of its own (a repeated one's attribute is named
    after it: ``layers.0.weight``)."""
    data = design.node(node_id)
    return "when" in data or "repeat" in data


def unit_order(design: Design, units: list[Unit], order: list[str]) -> list[Unit]:
    """Units in data-flow order (the graph with each unit contracted to one vertex)."""
    owner = {n: i for i, u in enumerate(units) for n in u.nodes}
    position = {n: i for i, n in enumerate(order)}
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(units)))
    for src, _, dst, _ in design.edges():
        if src in owner and dst in owner and owner[src] != owner[dst]:
            graph.add_edge(owner[src], owner[dst])
    first = [min(position[n] for n in u.nodes) for u in units]
    return [units[i] for i in nx.lexicographical_topological_sort(graph, key=first.__getitem__)]


@dataclass
class RawStep:
    """A unit with its wiring: the forward step it becomes, before its variables are named."""

    unit: Unit
    attr: str | None
    args: list[tuple[str, str]]
    ports: tuple[str, ...]
    branches: tuple[tuple[str, tuple[str, ...]], ...] = ()
    moves: tuple[str | None, ...] = ()  # per arg: the tag it moves to over a cut wire, or None
    part: tuple[int, int] | None = None  # the members of a Sequential slot it runs, if not all
    branch_moves: tuple[tuple[str | None, str | None], ...] = ()  # parallel: (into, back) tags
    keywords: tuple[str | None, ...] = ()  # per arg: its keyword (an optional port) or None
    gate: str = ""  # a gate unit's condition in the forward: ``self.use_residual``
    rest: bool = False  # more outputs may follow ``ports`` (a Split in a block's body)
