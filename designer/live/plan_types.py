"""The plan's vocabulary: what a design becomes (slots, steps, scopes, classes) and PlanError."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from designer.core.graph import Design
from designer.core.validate import Report


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
    A conditional node with several inputs is ``optional`` (a module, None while its condition
    is false) or, for a functional op, ``flag`` (a bool attribute holding the condition).
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
    moves: tuple[str | None, ...] = ()  # per arg: the tag it moves to over a cut wire, or None
    part: tuple[int, int] | None = None  # the slice of a Sequential slot it runs, if not all
    branch_moves: tuple[tuple[str | None, str | None], ...] = ()  # parallel: (into, back) tags
    keywords: tuple[str | None, ...] = ()  # per arg: its keyword (an optional port) or None
    gate: str = ""  # a conditional node's test (``self.use_residual``): else its first arg flows
    rest: bool = False  # the op may return more than ``ports``: ``a, b, *_ = ...``

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


@dataclass(frozen=True)
class Placement:
    """Where a placed model's parts run, by placement tag ('' for untagged parts).

    ``devices`` names each tag's constructor argument (``dev0``; ``device`` for untagged parts),
    ``slots`` gives each attribute's tags and ``inputs`` the tag each tagged input moves to first.
    """

    devices: dict[str, str]
    slots: dict[str, tuple[str, ...]]  # per member of a Sequential (entry of a container)
    inputs: dict[str, str]


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
    placement: Placement | None = None  # the model of a placed design only

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
