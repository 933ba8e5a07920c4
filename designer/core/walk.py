"""Walking a design: the one node order, the one input-port order, one recursion into blocks.

:func:`walk` is what every layer iterates (costs, the live model and its plan, the code generator,
the ONNX export), as Keras runs a functional model through its graph and ``torch.fx``'s
``Interpreter`` runs a graph module: nodes in :func:`flow_order`, each with its inputs in
:func:`ordered_inputs` order. With a validation report, each :class:`Visit` carries the node's
resolved parameters and shapes, and a composite block instance can be entered (its resolved body,
paths ``up1/conv``); without one, the design is walked by structure and a composite's body is its
block definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import networkx as nx

from designer.core.graph import Design
from designer.core.registry import BlockSpec
from designer.core.repeat import copies
from designer.core.validate import NodeInfo, Report


def flow_order(design: Design) -> list[str]:
    """Topological order that keeps the file's node order where the wiring allows."""
    index = {n: i for i, n in enumerate(design.node_ids())}
    return list(nx.lexicographical_topological_sort(design.graph, key=index.__getitem__))


def ordered_inputs(design: Design, node_id: str) -> list[tuple[str, str]]:
    """The (source node, source port) wired into a node, in port order."""
    wires = design.inputs_of(node_id)
    return [wires[p] for p in ordered_ports(design, node_id)]


def ordered_ports(design: Design, node_id: str) -> list[str]:
    """The wired input ports of a node, in port order."""
    spec = design.spec(design.node(node_id)["type"])
    return sorted(design.inputs_of(node_id), key=lambda p: spec.port_index(p) or 0)


def keyword_ports(design: Design, node_id: str) -> tuple[str | None, ...]:
    """Per wired input in port order: its port name when passed by keyword (an optional port),
    else None."""
    optional = design.spec(design.node(node_id)["type"]).optional_inputs
    return tuple(p if p in optional else None for p in ordered_ports(design, node_id))


class Visit:
    """One node as the walk reaches it: where it is, its block spec and what validation found.

    ``info`` (and so ``values`` and the shapes) is None when the design is walked without a report.
    """

    __slots__ = ("design", "info", "node", "path", "report", "spec")

    def __init__(self, design: Design, report: Report | None, node: str, path: str) -> None:
        self.design, self.report, self.node, self.path = design, report, node, path
        self.info: NodeInfo | None = None if report is None else report.nodes[node]
        self.spec: BlockSpec = design.spec(design.node(node)["type"])

    def __repr__(self) -> str:
        return f"<Visit {self.path} {self.spec.name}>"

    @property
    def values(self) -> dict[str, Any]:
        """The resolved parameter values."""
        return self.info.values

    @property
    def in_shapes(self) -> list:
        return list(self.info.in_shapes)

    @property
    def out_shapes(self) -> list:
        return list(self.info.out_shapes)

    @property
    def inputs(self) -> list[tuple[str, str]]:
        """The (source node, source port) wired into this node, in port order."""
        return ordered_inputs(self.design, self.node)

    @property
    def composite(self) -> bool:
        """True for an instance of a block made of blocks."""
        return self.spec.composite is not None

    @property
    def copy_count(self) -> int:
        """How many copies the node stands for (its repeat count; 1 when not repeated)."""
        return (self.info.repeat if self.info is not None else None) or 1

    def copies(self) -> list[tuple[Visit, int]]:
        """(a visit as one copy sees it, how many copies see it so): the node itself, and for a
        repeated node whose first copy changes the spec, the others (reading its output)."""
        if self.info is None:
            return [(self, 1)]
        found = []
        for info, n in copies(self.info):
            visit = self
            if info is not self.info:
                visit = Visit(self.design, self.report, self.node, self.path)
                visit.info = info
            found.append((visit, n))
        return found

    def instance(self) -> Any:
        """The composite instance this node builds (resolved body and its report; memoised)."""
        return self.spec.composite.instantiate(self.info.values, list(self.info.in_shapes))

    def body(self) -> tuple[Design, Report | None]:
        """What entering this composite node walks: the instance's body and report, or (walking
        by structure) the block's definition."""
        if self.report is None:
            return self.spec.composite.body, None
        instance = self.instance()
        return instance.body, instance.report

    def inner(self, enter: Enter = False) -> Iterator[Visit]:
        """The walk of this composite node's body, paths prefixed with this node's."""
        body, report = self.body()
        return walk(body, report, enter=enter, prefix=f"{self.path}/")


Enter = bool | Callable[[Visit], bool]


def walk(
    design: Design, report: Report | None = None, *, enter: Enter = False, prefix: str = ""
) -> Iterator[Visit]:
    """Every node of ``design`` in flow order, as a :class:`Visit`.

    A composite node for which ``enter`` is true (or returns true) is preceded by the walk of its
    body, recursively, so values flow as in a forward pass. ``enter`` is asked when the walk gets
    there, so it may read what the caller gathered so far. Nodes the report has no shapes for
    (only in an invalid design) are left out.
    """
    for node_id in flow_order(design):
        if report is not None and node_id not in report.nodes:
            continue
        visit = Visit(design, report, node_id, prefix + node_id)
        if visit.composite and (enter is True or (callable(enter) and enter(visit))):
            yield from visit.inner(enter)
        yield visit
