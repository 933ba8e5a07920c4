"""The plan: how a design becomes modules and a forward, shared by the live model and the code.

Both :func:`designer.build` and :func:`designer.generate_code` read the same :class:`Plan`, so the
live model and the generated source have the same attributes, the same containers and the same
forward steps, and therefore the same ``state_dict`` keys.

A scope (the model, or the body of one composite block type) becomes:

* **slots**: one attribute each, in data-flow order. A linear chain of single-input,
  single-output modules is one ``nn.Sequential`` (as the seed's ``double_conv``); two conditional
  nodes in a row whose conditions are each other's negation (Up's ``bilinear`` switch) share one
  attribute chosen by an ``if``/``else``; a lone conditional node falls back to ``nn.Identity``.
* **steps**: a straight-line forward. A value read once, by the very next step, flows in the
  running variable (``x``); every other value (skips, fan-outs) gets its own name ``x1``, ``x2``...
  in order of definition; the model's outputs take their Output labels.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from designer.core.graph import Design
from designer.core.validate import Report, validate
from designer.core.walk import flow_order, ordered_inputs
from designer.live.names import Namespace, camel, module_attributes, snake


class PlanError(ValueError):
    """A design that cannot be built: it is invalid, or uses something the builder cannot do."""

    def __init__(self, message: str, issues: list | None = None) -> None:
        self.issues = list(issues or [])
        lines = [message] + [f"  - {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Slot:
    """One submodule attribute.

    ``kind`` is ``module`` (one node), ``sequential`` (a chain, ``nodes`` in order), ``choice``
    (conditional nodes: ``when[i]`` guards ``nodes[i]``, the first true one is built, and when
    ``len(when) == 1`` an ``nn.Identity`` stands in while the condition is false), or ``dict`` /
    ``list`` (parallel branches read by one merge: ``entries`` are their slots, keyed by ``attr``;
    an ``nn.ModuleDict`` when every branch has a name of its own, else an ``nn.ModuleList``).
    """

    attr: str
    kind: str
    nodes: tuple[str, ...]
    when: tuple[str, ...] = ()
    entries: tuple[Slot, ...] = ()


@dataclass(frozen=True)
class Step:
    """One forward statement: ``outs = slot(*args)`` or ``out = <functional op>(*args)``.

    ``nodes`` are the design nodes it computes (a chain's members in order); ``last`` is the node
    whose output ports ``ports`` the variables ``outs`` hold (``None`` for an unused port). The
    live model keys values by ``(node, port)`` (``arg_keys``, ``out_keys``), the code by name.
    """

    nodes: tuple[str, ...]
    last: str
    slot: str | None
    args: tuple[str, ...]
    outs: tuple[str | None, ...]
    ports: tuple[str, ...]
    inline_return: bool = False
    arg_keys: tuple[tuple[str, str], ...] = ()  # the (node, port) values ``args`` name
    dead: bool = False  # reaches no Output: left out of the code, run live only when capturing
    branches: tuple[tuple[str, tuple[str, ...]], ...] = ()  # parallel: (entry key, its nodes)

    @property
    def functional(self) -> bool:
        return self.slot is None

    @property
    def parallel(self) -> bool:
        """Branches of a ModuleDict/ModuleList slot on one input, merged by the node ``last``."""
        return bool(self.branches)

    @property
    def out_keys(self) -> tuple[tuple[str, str], ...]:
        return tuple((self.last, p) for p in self.ports)


@dataclass
class Scope:
    """The attributes and the forward of one class."""

    name: str
    design: Design
    inputs: list[tuple[str, str]]  # (Input node id, variable)
    slots: list[Slot]
    steps: list[Step]
    returns: list[str | None]  # one variable per Output node, in order; None: inline return
    outputs: list[str]  # Output node ids
    node_slot: dict[str, tuple[str, int | None]] = field(default_factory=dict)

    def path_of(self, node_id: str) -> str | None:
        """The module path of a node (``inc``, ``stem.1``), None for functional ops and I/O."""
        where = self.node_slot.get(node_id)
        if where is None:
            return None
        attr, index = where
        return attr if index is None else f"{attr}.{index}"


@dataclass
class BlockClass:
    """A composite block type, emitted as its own class."""

    type: str
    name: str
    doc: str
    scope: Scope
    composite: Any  # designer.core.composite.CompositeDef


@dataclass
class Plan:
    """Everything needed to build or write a design."""

    design: Design
    report: Report
    model: Scope
    classes: dict[str, BlockClass]  # by block type, dependencies first
    helpers: tuple[str, ...]
    globals: frozenset[str]  # module-level names of the generated file

    def class_name(self, block_type: str) -> str:
        return self.classes[block_type].name


# -- node kinds ---------------------------------------------------------------------------------


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


def _single_io(design: Design, node_id: str) -> bool:
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
class _Unit:
    kind: str  # module, sequential, choice, functional, parallel
    nodes: list[str]
    when: list[str] = field(default_factory=list)
    branches: list[_Unit] = field(default_factory=list)  # parallel only; nodes[-1] merges them

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


def _units(design: Design, order: list[str]) -> list[_Unit]:
    """Group the scope's nodes into slots and functional steps (Input/Output excluded)."""
    taken: set[str] = set()
    units: list[_Unit] = []
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


def _group_branches(design: Design, units: list[_Unit]) -> list[_Unit]:
    """Concat nodes fed only by plain branches that all read one tensor become one container."""
    owner = {n: u for u in units for n in u.nodes}
    grouped: dict[int, _Unit] = {}
    for unit in units:
        branches = _branches_of(design, unit, owner)
        if branches:
            group = _Unit("parallel", [n for b in branches for n in b.nodes] + unit.nodes)
            group.branches = branches
            grouped[id(unit)] = group
            grouped.update({id(b): None for b in branches})
    return [grouped.get(id(u), u) for u in units if grouped.get(id(u), u) is not None]


def _branches_of(design: Design, unit: _Unit, owner: dict[str, _Unit]) -> list[_Unit] | None:
    if unit.kind != "functional" or design.node(unit.nodes[0])["type"] not in _JOINS:
        return None
    branches = [owner.get(src) for src, _ in ordered_inputs(design, unit.nodes[0])]
    if len(branches) < 2 or len({id(b) for b in branches}) != len(branches):
        return None
    for branch in branches:
        if (
            branch is None
            or branch.kind not in ("module", "sequential")
            or not _single_io(design, branch.first)
            or len(design.outputs_of(branch.last)) != 1
        ):
            return None
    sources = {tuple(ordered_inputs(design, b.first)) for b in branches}
    return branches if len(sources) == 1 else None


def _choice(design: Design, node_id: str) -> _Unit | None:
    """A conditional node, merged with the next one when their conditions are complementary."""
    data = design.node(node_id)
    if "when" not in data:
        return None
    if not _single_io(design, node_id):
        raise PlanError(
            f"node {node_id!r}: only single-input, single-output modules can be conditional"
        )
    nxt = design.outputs_of(node_id)
    other = nxt[0][1] if len(nxt) == 1 else None
    if (
        other is not None
        and "when" in design.node(other)
        and _single_io(design, other)
        and _sole_link(design, node_id, other)
        and _negation(data["when"], design.node(other)["when"])
    ):
        pair = [node_id, other]
        conds = [data["when"], design.node(other)["when"]]
        first = ast.parse(conds[0].strip(), mode="eval").body
        if isinstance(first, ast.UnaryOp) and isinstance(first.op, ast.Not):  # `if bilinear:`
            pair, conds = pair[::-1], conds[::-1]
        unit = _Unit("choice", pair, conds)
        unit._upstream, unit._downstream = node_id, other
        return unit
    unit = _Unit("choice", [node_id], [data["when"]])
    unit._upstream = unit._downstream = node_id
    return unit


def _chain(design: Design, node_id: str) -> _Unit:
    """The longest chain of plain single-in/out modules starting at ``node_id``."""
    if node_kind(design, node_id) == "functional":
        return _Unit("functional", [node_id])
    nodes = [node_id]
    while _single_io(design, nodes[-1]) and "when" not in design.node(nodes[-1]):
        outs = design.outputs_of(nodes[-1])
        nxt = outs[0][1] if len(outs) == 1 else None
        if (
            nxt is None
            or not _single_io(design, nxt)
            or "when" in design.node(nxt)
            or not _sole_link(design, nodes[-1], nxt)
        ):
            break
        nodes.append(nxt)
    return _Unit("sequential" if len(nodes) > 1 else "module", nodes)


def _unit_order(design: Design, units: list[_Unit], order: list[str]) -> list[_Unit]:
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


# -- naming -------------------------------------------------------------------------------------


def _label(design: Design, node_id: str) -> str:
    return snake(design.node(node_id)["label"]) or snake(node_id) or "node"


def _chain_name(design: Design, unit: _Unit, class_name: str | None, whole: bool) -> str:
    """A Sequential's name: the members' common label prefix, their joined labels (two), the
    class name when the chain is the whole body (``double_conv``), else ``first_to_last``."""
    labels = [_label(design, n) for n in unit.nodes]
    prefix = _common_prefix(labels)
    if prefix:
        return prefix
    if len(labels) == 2:
        return "_".join(labels)
    if whole and class_name:
        return snake(class_name)
    return f"{labels[0]}_to_{labels[-1]}"


def _common_prefix(labels: list[str]) -> str:
    """``res1_conv1``, ``res1_bn1`` -> ``res1`` (whole words only)."""
    words = [label.split("_") for label in labels]
    common = []
    for group in zip(*words, strict=False):
        if len(set(group)) != 1:
            break
        common.append(group[0])
    return "_".join(common)


def _slots(
    design: Design, units: list[_Unit], class_name: str | None, whole_body: bool
) -> tuple[list[Slot], dict[int, str]]:
    names = Namespace(module_attributes())
    slots, attr_of = [], {}
    for i, unit in enumerate(units):
        if unit.kind == "functional":
            continue
        if unit.kind == "parallel":
            slot = _container(design, unit, names.take("branches"))
        else:
            whole = whole_body and len(units) == 1
            slot = _plain_slot(
                design, unit, names.take(_unit_name(design, unit, class_name, whole))
            )
        attr_of[i] = slot.attr
        slots.append(slot)
    return slots, attr_of


def _unit_name(design: Design, unit: _Unit, class_name: str | None, whole: bool) -> str:
    if unit.kind == "sequential":
        return _chain_name(design, unit, class_name, whole)
    return _label(design, unit.nodes[0])


def _plain_slot(design: Design, unit: _Unit, attr: str) -> Slot:
    return Slot(attr, unit.kind, tuple(unit.nodes), tuple(unit.when))


def _anonymous(design: Design, unit: _Unit) -> bool:
    """True when every node of the unit still has its automatic id as label (``conv2d_1``)."""
    return all(
        re.fullmatch(
            re.escape(design.node(n)["type"].lower()) + r"(_\d+)?", design.node(n)["label"]
        )
        for n in unit.nodes
    )


def _container(design: Design, unit: _Unit, attr: str) -> Slot:
    """A ModuleDict keyed by the branches' names, or a ModuleList when they have none."""
    if any(_anonymous(design, b) for b in unit.branches):
        entries = [_plain_slot(design, b, str(i)) for i, b in enumerate(unit.branches)]
        kind = "list"
    else:
        keys = Namespace(module_attributes("ModuleDict"))
        entries = [
            _plain_slot(design, b, keys.take(_unit_name(design, b, None, False)))
            for b in unit.branches
        ]
        kind = "dict"
    nodes = tuple(n for b in unit.branches for n in b.nodes)
    return Slot(attr, kind, nodes, entries=tuple(entries))


# -- the scope ----------------------------------------------------------------------------------


def plan_scope(
    design: Design, class_name: str, *, model: bool, reserved: frozenset[str] = frozenset()
) -> Scope:
    """Slots and forward steps for one design or composite body (structure only)."""
    order = flow_order(design)
    units = _unit_order(design, _units(design, order), order)
    slots, attr_of = _slots(design, units, None if model else class_name, not model)
    inputs = [n for n in order if node_kind(design, n) == "input"]
    inputs = sorted(inputs, key=design.node_ids().index)
    outputs = [n for n in design.node_ids() if node_kind(design, n) == "output"]
    alive = set(outputs).union(*(nx.ancestors(design.graph, o) for o in outputs))
    slot_of = {s.attr: s for s in slots}
    raw = [_raw_step(design, u, slot_of.get(attr_of.get(i))) for i, u in enumerate(units)]
    live = [r for r in raw if r.unit.last in alive]
    dead = [r for r in raw if r.unit.last not in alive]  # computed only when capturing
    variables = _Variables(design, inputs, outputs, live, model, reserved)
    scope = Scope(
        name=class_name,
        design=design,
        inputs=[(n, variables.name_of[(n, "out")]) for n in inputs],
        slots=slots,
        steps=[variables.step(s, i) for i, s in enumerate(live)] + [_dead_step(s) for s in dead],
        returns=[variables.return_name(o) for o in outputs],
        outputs=outputs,
    )
    for slot in slots:
        for entry in slot.entries or (slot,):
            prefix = f"{slot.attr}.{entry.attr}" if slot.entries else slot.attr
            for k, node_id in enumerate(entry.nodes):
                scope.node_slot[node_id] = (prefix, k if entry.kind == "sequential" else None)
    return scope


@dataclass
class _RawStep:
    unit: _Unit
    attr: str | None
    args: list[tuple[str, str]]
    ports: tuple[str, ...]
    branches: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _raw_step(design: Design, unit: _Unit, slot: Slot | None) -> _RawStep:
    ports = tuple(design.spec(design.node(unit.last)["type"]).outputs)
    attr = None if slot is None else slot.attr
    branches = tuple((e.attr, e.nodes) for e in slot.entries) if slot is not None else ()
    return _RawStep(unit, attr, ordered_inputs(design, unit.first), ports, branches)


def _dead_step(raw: _RawStep) -> Step:
    """A step whose result reaches no Output: not written, run live only to capture previews."""
    return Step(
        nodes=tuple(raw.unit.nodes),
        last=raw.unit.last,
        slot=raw.attr,
        args=(),
        outs=(None,) * len(raw.ports),
        ports=raw.ports,
        arg_keys=tuple(raw.args),
        dead=True,
        branches=raw.branches,
    )


class _Variables:
    """Names for every value: running ``x``, numbered skips, labelled inputs and outputs."""

    def __init__(self, design, inputs, outputs, steps, model, reserved) -> None:
        self.design, self.steps, self.model = design, steps, model
        self.names = Namespace(reserved)
        self.name_of: dict[tuple[str, str], str] = {}
        self.inline: set[int] = set()
        n = len(steps)
        uses: dict[tuple[str, str], list[int]] = {}
        defined: dict[tuple[str, str], int] = {(i, "out"): -1 for i in inputs}
        for k, step in enumerate(steps):
            for key in step.args:
                uses.setdefault(key, []).append(k)
            for port in step.ports:
                defined[(step.unit.last, port)] = k
        self.feeds = {o: design.inputs_of(o)["in"] for o in outputs}
        for source in self.feeds.values():
            uses.setdefault(source, []).append(n)
        for i in inputs:
            self.name_of[(i, "out")] = self.names.take(_label(design, i), "x")
        running = self._running(defined, uses, n)
        self._label_outputs(outputs, defined, uses, n)
        self._assign(defined, uses, running, inputs)

    def _running(self, defined, uses, n) -> set:
        single_out = {k for k, s in enumerate(self.steps) if len(s.ports) == 1}
        return {
            key
            for key, k in defined.items()
            if k >= 0 and k in single_out and uses.get(key) == [k + 1] and k + 1 < n
        }

    def _label_outputs(self, outputs, defined, uses, n) -> None:
        """The model names its results after the Output labels; a block returns inline."""
        for output, source in self.feeds.items():
            if source in self.name_of or uses.get(source) != [n]:
                continue
            last = defined.get(source) == n - 1 and len(self.steps[n - 1].ports) == 1
            if not self.model and len(outputs) == 1 and last:
                self.inline.add(n - 1)
                self.name_of[source] = ""
            elif self.model:
                self.name_of[source] = self.names.take(_label(self.design, output), "out")

    def _assign(self, defined, uses, running, inputs) -> None:
        first_run = min((defined[k] for k in running), default=None)
        x_input = [i for i in inputs if self.name_of[(i, "out")] == "x"]
        can_reuse_x = bool(x_input) and max(uses.get((x_input[0], "out"), [0])) <= (
            first_run if first_run is not None else -1
        )
        run_name = "x" if can_reuse_x else self.names.take("x" if "x" not in self.names else "h")
        counter = 1
        for key, _ in sorted(defined.items(), key=lambda kv: kv[1]):
            if key in self.name_of:
                continue
            if key in running:
                self.name_of[key] = run_name
            elif key in uses:
                while f"x{counter}" in self.names:
                    counter += 1
                self.name_of[key] = self.names.take(f"x{counter}")

    def step(self, raw: _RawStep, k: int) -> Step:
        outs = tuple(self.name_of.get((raw.unit.last, p)) for p in raw.ports)
        return Step(
            nodes=tuple(raw.unit.nodes),
            last=raw.unit.last,
            slot=raw.attr,
            args=tuple(self.name_of[a] for a in raw.args),
            outs=tuple(o or None for o in outs),
            ports=raw.ports,
            inline_return=k in self.inline,
            arg_keys=tuple(raw.args),
            branches=raw.branches,
        )

    def return_name(self, output: str) -> str | None:
        return self.name_of[self.feeds[output]] or None


# -- the whole plan -----------------------------------------------------------------------------


def make_plan(
    design: Design,
    input_shapes: Mapping[str, tuple] | None = None,
    *,
    class_name: str | None = None,
    report: Report | None = None,
) -> Plan:
    """Validate ``design`` and plan its model class and one class per composite block type used.

    Raises :class:`PlanError` listing the validation errors when the design is invalid.
    """
    report = report if report is not None else validate(design, input_shapes)
    if not report.ok:
        raise PlanError(f"design {design.name!r} is not valid:", report.errors)
    helpers = tuple(sorted(_helpers(design)))
    module_names = Namespace(frozenset(helpers))
    model_name = module_names.take(class_name or camel(design.name) or "Model", "Model")
    classes: dict[str, BlockClass] = {}
    for block_type in _composites_used(design):
        composite = design.spec(block_type).composite
        name = module_names.take(camel(block_type), "Block")
        classes[block_type] = BlockClass(block_type, name, composite.doc, None, composite)
    taken = frozenset(module_names.used | set(helpers))
    for block in classes.values():
        block.scope = plan_scope(block.composite.body, block.name, model=False, reserved=taken)
    model = plan_scope(design, model_name, model=True, reserved=taken)
    return Plan(design, report, model, classes, helpers, taken)


def _composites_used(design: Design) -> list[str]:
    """Composite block types reachable from ``design``, each after the ones it uses."""
    found: list[str] = []

    def visit(body: Design) -> None:
        for node_id in flow_order(body):
            spec = body.spec(body.node(node_id)["type"])
            if spec.composite is not None and spec.name not in found:
                visit(spec.composite.body)
                found.append(spec.name)

    visit(design)
    return found


def _helpers(design: Design) -> set[str]:
    """Module-level helper functions the functional ops of ``design`` (and its blocks) call."""
    names: set[str] = set()
    for node_id in design.node_ids():
        spec = design.spec(design.node(node_id)["type"])
        if spec.functional is not None:
            names.update(spec.functional.helpers)
        if spec.composite is not None:
            names |= _helpers(spec.composite.body)
    return names
