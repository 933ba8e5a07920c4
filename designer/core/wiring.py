"""The structure validation walks: wires in and out of every node, the node order, and the issues
that depend on structure alone (cycles, unwired or unknown ports, no Input or Output, dangling
nodes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

import networkx as nx

from designer.core.report import Issue

Edge = tuple[str, str, str, str]  # (src, src_port, dst, dst_port)


class Wiring:
    """Every node's attributes and its wires in and out, gathered in one pass over the edges.

    ``succ`` is adjacency as networkx keeps it (source -> target -> input port -> edge data with
    ``src_port``); the wires are listed in its order, which fixes the node order validation uses.
    What depends on the structure alone (order, structural issues, port signatures, sources in
    port order) is computed once; :meth:`with_nodes` shares it with other node attributes.
    """

    def __init__(self, nodes: Mapping[str, dict], succ: Mapping, graph: Any = None) -> None:
        self.nodes = nodes
        self.graph = graph  # the networkx graph, when there is one (cycle reports use it)
        self.into: dict[str, dict[str, tuple[str, str]]] = {n: {} for n in nodes}
        self.out_of: dict[str, list[tuple[str, str, str]]] = {n: [] for n in nodes}
        self.used: dict[str, dict[str, None]] = {n: {} for n in nodes}  # output ports wired
        self._sources: dict[str, tuple] = {}  # node -> (spec, its sources in port order)
        self._signatures: dict[str, tuple] = {}
        self._issues: dict[str, tuple] = {}  # node -> (spec, its wiring issues)
        self._specs: dict[tuple, dict] = {}  # what they are resolved against -> type -> spec
        for src, targets in succ.items():
            out, used = self.out_of[src], self.used[src]
            for dst, keyed in targets.items():
                into = self.into[dst]
                for port, data in keyed.items():
                    into[port] = (src, data["src_port"])
                    out.append((data["src_port"], dst, port))
                    used[data["src_port"]] = None

    @classmethod
    def of_design(cls, design) -> Wiring:
        graph = design.graph
        return cls(graph._node, graph._succ, graph)  # networkx's own dicts: no copies

    @classmethod
    def of_edges(cls, nodes: Mapping[str, dict], edges: Iterable[Edge]) -> Wiring:
        """Wiring for nodes and wires as a graph built by adding them in this order would hold."""
        succ: dict[str, dict[str, dict[str, dict]]] = {n: {} for n in nodes}
        for src, src_port, dst, dst_port in edges:
            succ[src].setdefault(dst, {})[dst_port] = {"src_port": src_port, "dst_port": dst_port}
        return cls(nodes, succ)

    def with_nodes(self, nodes: Mapping[str, dict]) -> Wiring:
        """The same wires over other attributes of the same nodes (and the same types)."""
        self.structural_issues  # noqa: B018  (computed once, shared by every copy)
        other = Wiring.__new__(Wiring)
        other.__dict__.update(self.__dict__)
        other.nodes = nodes
        return other

    @cached_property
    def order(self) -> list[str]:
        """Topological order (see :func:`topological_order`)."""
        return topological_order(self)

    @cached_property
    def structural_issues(self) -> list[Issue]:
        """Whole-design issues, then cycles."""
        issues = global_issues(self)
        if len(self.order) < len(self.nodes):
            issues += cycle_issues(self)
        return issues

    def signature(self, node_id: str) -> tuple:
        """What a node's wiring issues depend on: its input ports, its wires out."""
        return tuple(self.into[node_id]), tuple(self.out_of[node_id])

    def port_signature(self, node_id: str) -> tuple:
        """Whether a node has wiring issues depends on this: its port names in and out."""
        found = self._signatures.get(node_id)
        if found is None:
            found = (tuple(self.into[node_id]), tuple(self.used[node_id]))
            self._signatures[node_id] = found
        return found

    def issues(self, node_id: str, spec) -> list[Issue]:
        """The node's wiring issues (:func:`wiring_issues`), computed once per spec; the list is
        shared, not to be changed."""
        cached = self._issues.get(node_id)
        if cached is None or cached[0] is not spec:
            cached = self._issues[node_id] = (spec, wiring_issues(self, node_id, spec))
        return cached[1]

    def specs(self, source, registry_version: int) -> dict:
        """A dict to keep the spec of each type in, shared by the copies of this wiring while
        ``source`` (its blocks) and the registry stay the same."""
        key = (id(source), id(source.blocks), len(source.blocks), registry_version)
        found = self._specs.get(key)
        if found is None:
            self._specs.clear()
            found = self._specs[key] = {}
        return found

    def sources(self, node_id: str, spec) -> Iterable:
        """The (node, port) wired into each input, in port order; a block with optional inputs
        gets one entry per declared port (None where unwired)."""
        into = self.into[node_id]
        if len(into) < 2 and not spec.optional_inputs:
            return into.values()
        cached = self._sources.get(node_id)
        if cached is not None and cached[0] is spec:
            return cached[1]
        if spec.optional_inputs:
            found = tuple(into.get(p) for p in spec.inputs)
        else:
            found = tuple(s for _, s in sorted(into.items(), key=lambda kv: _order(spec, kv[0])))
        self._sources[node_id] = (spec, found)
        return found

    def nx_graph(self) -> nx.MultiDiGraph:
        """The networkx graph (built from the wires when there is none)."""
        if self.graph is None:
            graph = nx.MultiDiGraph()
            graph.add_nodes_from(self.nodes.items())
            for src, out in self.out_of.items():
                for src_port, dst, port in out:
                    graph.add_edge(src, dst, key=port, src_port=src_port, dst_port=port)
            self.graph = graph
        return self.graph


def _order(spec, port: str) -> int:
    index = spec.port_index(port)
    return 10**6 if index is None else index


def topological_order(wiring: Wiring) -> list[str]:
    """Kahn's algorithm, stable; nodes on a cycle (or after one) are left out."""
    pending = {
        n: len(into) if len(into) < 2 else len({src for src, _ in into.values()})
        for n, into in wiring.into.items()
    }
    ready = [n for n, count in pending.items() if count == 0]
    order: list[str] = []
    out_of = wiring.out_of
    while ready:
        node_id = ready.pop()
        order.append(node_id)
        out = out_of[node_id]
        targets = (out[0][1],) if len(out) == 1 else dict.fromkeys(dst for _, dst, _ in out)
        for dst in targets:
            pending[dst] -= 1
            if pending[dst] == 0:
                ready.append(dst)
    return order


def cycle_issues(wiring: Wiring) -> list[Issue]:
    """One issue per node on a cycle, naming the others."""
    graph = wiring.nx_graph()
    issues = []
    for component in nx.strongly_connected_components(graph):
        first = next(iter(component))
        if len(component) > 1 or graph.has_edge(first, first):
            members = sorted(component)
            for node_id in members:
                others = ", ".join(m for m in members if m != node_id) or "itself"
                issues.append(
                    Issue(
                        node_id,
                        None,
                        wiring.nodes[node_id]["type"],
                        "cycle",
                        f"is on a cycle with {others}",
                        "remove one of the wires that loop back",
                    )
                )
    return issues


def global_issues(wiring: Wiring) -> list[Issue]:
    """Whole-design issues: no input or output, outputs that lead nowhere."""
    types = {n: d["type"] for n, d in wiring.nodes.items()}
    issues = []
    if "Input" not in types.values():
        issues.append(
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
        issues.append(
            Issue(
                None,
                None,
                None,
                "no-output",
                "the design has no Output block",
                "add an Output block after the last layer",
            )
        )
    out_of = wiring.out_of
    for node_id, block in types.items():
        if block != "Output" and not out_of[node_id]:
            issues.append(
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
    return issues


def wiring_issues(wiring: Wiring, node_id: str, spec) -> list[Issue]:
    """Unknown ports, unconnected required inputs, gaps in variadic inputs."""
    wires = wiring.into[node_id]
    inputs, outputs = spec.port_sets
    if spec.variadic:  # in1 ... inN with N at least the minimum
        inputs = spec.variadic_ports(len(wires)) if len(wires) >= spec.min_inputs else None
    if wires.keys() == inputs and wiring.used[node_id].keys() <= outputs:
        return []  # the common case, checked cheaply
    return [
        *_unknown_ports(wiring, node_id, spec),
        *(_unconnected(node_id, spec, port) for port in _unwired(wires, spec)),
    ]


def _unknown_ports(wiring: Wiring, node_id: str, spec) -> list[Issue]:
    wires = wiring.into[node_id]
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
    if spec.output_count is not None:  # which of out1..out64 exist: output_issues, later
        return issues + output_issues(wiring, node_id, spec, spec.port_sets[1])
    return issues + output_issues(wiring, node_id, spec, spec.outputs)


def output_issues(wiring: Wiring, node_id: str, spec, ports) -> list[Issue]:
    """A wire out of each output port the node lacks. A block whose parameters set its outputs
    (``spec.output_count``) is checked once they are known: ``ports`` are the node's."""
    issues = []
    for src_port, dst, _ in wiring.out_of[node_id]:
        if src_port in ports:
            continue
        if spec.output_count is not None and src_port in spec.port_sets[1]:
            message = f"has no output port {src_port!r} (wired to {dst})"
            message += f": it has {len(ports)} outputs"
            hint = f"wire {dst} from {ports[0]} to {ports[-1]}, or change the parameters "
            hint += f"so that {spec.name} gives more outputs"
        else:
            message = f"has no output port {src_port!r} (wired to {dst})"
            hint = f"its outputs are: {', '.join(_shown(ports)) or 'none'}"
        issues.append(Issue(node_id, src_port, spec.name, "unknown-port", message, hint))
    return issues


def _shown(ports) -> list[str]:
    """Port names to list in a message (out1 ... out64 when there are many)."""
    ports = list(ports) if isinstance(ports, tuple) else sorted(ports, key=lambda p: (len(p), p))
    return ports if len(ports) < 5 else [ports[0], "...", ports[-1]]


def _unwired(wires: Mapping[str, Any], spec) -> list[str]:
    """Required input ports without a wire (variadic: every gap up to the last wired one)."""
    if not spec.variadic:
        return [p for p in spec.required_inputs if p not in wires]
    wired = {spec.port_index(p) for p in wires} - {None}
    needed = max(spec.min_inputs, max(wired, default=-1) + 1)
    ports = spec.input_ports(needed)
    return [ports[i] for i in range(needed) if i not in wired]


def _unconnected(node_id: str, spec, port: str) -> Issue:
    return Issue(
        node_id,
        port,
        spec.name,
        "unconnected",
        f"input {port} is not connected",
        "wire an output into it or delete the node",
    )
