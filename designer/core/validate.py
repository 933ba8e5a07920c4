"""Shape inference and validation: one walk over the design, issues collected as records.

:func:`validate` never raises for a bad design; it returns a :class:`Report` holding every node's
inferred tensor specs and parameter count and a list of :class:`Issue` (node, port, code, message,
hint). An :class:`Analyzer` keeps what its last run saw: when the wiring, block definitions and
Input overrides are unchanged, the next run compares each node's type and parameters with its memo
and recomputes only the edited nodes and, while their outputs change, what lies downstream.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from heapq import heapify, heappop, heappush
from typing import Any

from designer.core.device_tags import placement_issues
from designer.core.graph import Design
from designer.core.infer import SHARED, freeze, input_specs, shared_infer
from designer.core.mistakes import review
from designer.core.registry import REGISTRY, UnknownBlockError
from designer.core.report import Issue, NodeInfo, Report, describe
from designer.core.shapes import Shape
from designer.core.tensor import TensorSpec
from designer.core.wiring import Wiring

__all__ = ["Analyzer", "Issue", "NodeInfo", "Report", "describe", "freeze", "validate"]
_SHARED = SHARED  # the name older code clears

Overrides = Mapping[str, "Shape | TensorSpec"]
_SCALARS = (int, float, str, bool, type(None))


def validate(design: Design, input_shapes: Overrides | None = None) -> Report:
    """Infer every spec and collect every issue. ``input_shapes`` overrides Input nodes by id:
    full sizes (the Input's dtype is kept) or a TensorSpec."""
    return Analyzer().run(design, input_shapes, remember=False)


def analyze(source, wiring: Wiring, overrides: Mapping[str, Any]) -> Report:
    """Validate nodes and wires given as a :class:`Wiring`; ``source`` resolves block types (a
    Design: its own blocks, then the registry). Composite blocks analyse their bodies so."""
    infos, bad = walk_once(source, wiring, overrides)
    issues = [i for found in bad.values() for i in found]
    order = list(wiring.order)
    return Report(infos, wiring.structural_issues + issues, order, 0.0, len(infos) + len(bad))


def walk_once(source, wiring: Wiring, overrides: Mapping) -> tuple[dict, dict]:
    """Every node's NodeInfo, and the issues of those that have some, in walk order (a one-off
    walk: no memo to read or fill)."""
    nodes, specs, infos, bad = wiring.nodes, wiring.specs(source, REGISTRY.version), {}, {}
    for node_id in wiring.order:
        data = nodes[node_id]
        block = data["type"]
        spec = specs[block] if block in specs else specs.setdefault(block, _spec(source, block))
        ins = input_specs(wiring, spec, node_id, infos)
        if ins is None:
            continue
        override = overrides.get(node_id) if block == "Input" and overrides else None
        result = shared_infer(source, wiring, spec, node_id, data, ins, override)
        if isinstance(result, NodeInfo):
            infos[node_id] = result
        else:
            bad[node_id] = result
    return infos, bad


def _spec(source, block: str):
    """The spec of a block type, None when no one knows it."""
    try:
        return source.spec(block)
    except UnknownBlockError:
        return None


class _Seen:
    """What an Analyzer's last run saw of the design's structure (a plain class: making a
    dataclass costs every process that imports this module half a millisecond)."""

    __slots__ = ("blocks", "graph", "overrides", "registry", "unvisited", "version")

    def __init__(
        self, graph: Any, version: int, blocks: dict, registry: int, overrides: dict, unvisited
    ) -> None:
        self.graph = graph  # the graph walked, and its count of changes to nodes and wires then
        self.version = version
        self.blocks = blocks
        self.registry = registry
        self.overrides = overrides
        self.unvisited: dict[str, str] = unvisited  # type of each node the walk did not reach

    def matches(self, design: Design, overrides: dict) -> bool:
        graph = design.graph
        return (
            self.version is not None  # a graph that counts its changes
            and self.registry == REGISTRY.version
            and self.overrides == overrides
            and self.blocks == design.blocks
            and graph is self.graph
            and getattr(graph, "version", None) == self.version
        )


class Analyzer:
    """Validation with a memo per node, for interactive editing."""

    def __init__(self) -> None:
        # node -> (type, spec, params, in_specs, override, signature, result, repeat)
        self._memo: dict[str, tuple] = {}
        self._seen: _Seen | None = None
        self._infos: dict[str, NodeInfo] = {}
        self._bad: dict[str, list[Issue]] = {}  # node -> its issues
        self._structural: list[Issue] = []
        self._order: list[str] = []
        self._position: dict[str, int] = {}
        self._specs: dict[str, Any] = {}
        self._issue_list: list[Issue] = []
        self._wiring: Wiring | None = None
        self._source: Any = None
        self._overrides: Mapping = {}
        self._recomputed, self._inserted, self._issues_changed = 0, False, False
        self._keep = True  # whether runs fill the memo (one-off validations need none)

    def run(
        self, design: Design, input_shapes: Overrides | None = None, remember: bool = True
    ) -> Report:
        start = time.perf_counter()
        overrides = {
            k: v if isinstance(v, TensorSpec) else tuple(v) for k, v in (input_shapes or {}).items()
        }
        seen, self._keep = self._seen, remember
        if remember and seen is not None and seen.matches(design, overrides):
            report = self._update(design, seen)
        else:
            report = self._full(design, Wiring.of_design(design), overrides, copy=remember)
            self._seen = None
            if remember:
                self._remember(design, overrides)
        placement = placement_issues(design)
        if placement:
            report.issues = [*report.issues, *placement]
        report.issues = review(design, report)  # likely mistakes: warnings with their fix
        report.seconds = time.perf_counter() - start
        return report

    # -- a walk over every node -----------------------------------------------------------------

    def _full(self, source, wiring: Wiring, overrides: Mapping, copy: bool = False) -> Report:
        self._wiring, self._source, self._overrides = wiring, source, overrides
        self._specs, self._infos, self._bad = {}, {}, {}
        self._recomputed, self._inserted = 0, False
        self._structural = wiring.structural_issues
        self._order = wiring.order
        if self._keep:
            self._walk_with_memo()
        else:
            self._infos, self._bad = walk_once(source, wiring, overrides)
            self._recomputed = len(self._infos) + len(self._bad)
        issues = [i for found in self._bad.values() for i in found]
        infos = dict(self._infos) if copy else self._infos
        return Report(infos, self._structural + issues, list(self._order), 0.0, self._recomputed)

    def _walk_with_memo(self) -> None:
        infer, infos, bad = self._infer, self._infos, self._bad
        for node_id in self._order:
            result = infer(node_id)
            if isinstance(result, NodeInfo):
                infos[node_id] = result
            elif result:
                bad[node_id] = result

    def _remember(self, design: Design, overrides: dict) -> None:
        graph = design.graph
        self._position = {n: i for i, n in enumerate(self._order)}
        self._issue_list = [i for found in self._bad.values() for i in found]
        visited = self._infos.keys() | self._bad.keys()
        unvisited = {n: d["type"] for n, d in graph._node.items() if n not in visited}
        self._seen = _Seen(
            graph,
            getattr(graph, "version", None),
            dict(design.blocks),
            REGISTRY.version,
            overrides,
            unvisited,
        )
        for stale in [n for n in self._memo if n in unvisited or n not in graph]:
            del self._memo[stale]  # a memo holds what each node's last run inferred

    def _infer(self, node_id: str) -> Any:
        """One node's result (from its memo when nothing it depends on changed): a NodeInfo, its
        issues, or None when an input is unknown."""
        data = self._wiring.nodes[node_id]
        block = data["type"]
        spec = self._specs[block] if block in self._specs else self._spec(block)
        ins = input_specs(self._wiring, spec, node_id, self._infos)
        return None if ins is None else self._result(node_id, data, block, spec, ins)

    def _visit(self, node_id: str) -> bool:
        """Infer one node again and record it; True when what its consumers see (its output
        specs) changed."""
        result = self._infer(node_id)
        before = self._infos.get(node_id)
        if result is before and result is not None:
            return False
        if node_id in self._bad or (result is not None and not isinstance(result, NodeInfo)):
            self._issues_changed = True
        if isinstance(result, NodeInfo):
            self._inserted = self._inserted or before is None
            self._infos[node_id] = result
            self._bad.pop(node_id, None)
        else:
            self._infos.pop(node_id, None)
            if result:
                self._bad[node_id] = result
            else:
                self._bad.pop(node_id, None)
        return _outputs(before) != _outputs(result)

    def _result(self, node_id: str, data: dict, block: str, spec, ins: tuple) -> Any:
        override = self._overrides.get(node_id) if block == "Input" and self._overrides else None
        wiring, source = self._wiring, self._source
        signature = wiring.signature(node_id)
        params = data["params"]
        memo = self._memo.get(node_id)
        if (
            memo is not None
            and memo[1] is spec
            and memo[0] == block
            and memo[3] == ins
            and memo[4] == override
            and memo[5] == signature
            and memo[2] == params
            and memo[7] == data.get("repeat")
        ):
            return memo[6]
        result = shared_infer(source, wiring, spec, node_id, data, ins, override)
        repeat = data.get("repeat")
        self._memo[node_id] = (
            block,
            spec,
            _snapshot(params),
            ins,
            override,
            signature,
            result,
            repeat,
        )
        self._recomputed += 1
        return result

    def _spec(self, block: str):
        spec = self._specs[block] = _spec(self._source, block)
        return spec

    # -- a run after edits that kept the structure ----------------------------------------------

    def _update(self, design: Design, seen: _Seen) -> Report:
        """Recompute the nodes whose parameters changed, then downstream while outputs change; a
        changed type (which whole-design issues depend on) walks everything."""
        self._source = design
        self._recomputed, self._inserted, self._issues_changed = 0, False, False
        dirty = self._edited(design.graph._node, seen)
        if dirty is None:
            report = self._full(design, Wiring.of_design(design), seen.overrides, copy=True)
            self._remember(design, seen.overrides)
            return report
        self._propagate(dirty)
        if self._issues_changed:
            self._issue_list = [i for n in self._order if n in self._bad for i in self._bad[n]]
        if self._inserted:  # keep the nodes in walk order
            self._infos = {n: self._infos[n] for n in self._order if n in self._infos}
        return Report(
            dict(self._infos),
            self._structural + self._issue_list,
            list(self._order),
            0.0,
            self._recomputed,
        )

    def _edited(self, nodes: Mapping[str, dict], seen: _Seen) -> list[str] | None:
        """Nodes whose parameters changed since they were inferred; None when a type changed."""
        memo, unvisited = self._memo, seen.unvisited
        dirty = []
        for node_id, data in nodes.items():
            entry = memo.get(node_id)
            if entry is None:
                if data["type"] != unvisited.get(node_id):
                    return None
            elif data["type"] != entry[0]:
                return None
            elif data["params"] != entry[2] or data.get("repeat") != entry[7]:
                dirty.append(node_id)
        return dirty

    def _propagate(self, dirty: list[str]) -> None:
        """Visit the dirty nodes in order, and the consumers of each whose outputs changed."""
        position, out_of = self._position, self._wiring.out_of
        heap = [(position[n], n) for n in dirty if n in position]
        heapify(heap)
        done: set[str] = set()
        while heap:
            _, node_id = heappop(heap)
            if node_id in done:
                continue
            done.add(node_id)
            if self._visit(node_id):
                for _, dst, _ in out_of[node_id]:
                    if dst in position and dst not in done:
                        heappush(heap, (position[dst], dst))


def _outputs(result: Any) -> Any:
    """What consumers of a node see of its result: its ports and output specs, or nothing."""
    return (result.ports, result.out_specs) if isinstance(result, NodeInfo) else None


def _snapshot(params: dict) -> dict:
    """A copy of a node's raw parameters to compare later ones with (lists copied too)."""
    return {k: v if isinstance(v, _SCALARS) else _deep(v) for k, v in params.items()}


def _deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_deep(v) for v in value)
    return value
