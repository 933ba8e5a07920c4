"""The design: a networkx multi-digraph of block instances wired port to port.

Node kinds form a closed set, documented once here:

* a node is a block instance with attributes ``type`` (a block type name), ``params`` (raw values
  as the user gave them; inside composite definitions a value may be ``{"expr": "..."}``),
  ``label`` (free text shown on the canvas and used for generated names), ``pos`` (canvas x, y)
  and, inside composite definitions only, ``when`` (an expression; the node exists only when true);
  optionally ``device``, its placement tag (see :mod:`designer.core.placement`), and ``repeat``,
  a count of copies applied in sequence (an int; inside composite definitions also an expression's
  text; see :mod:`designer.core.repeat`);
* an edge runs from ``(src, src_port)`` to ``(dst, dst_port)``; its key is the input port, so an
  input takes at most one wire while an output fans out freely. Variadic inputs are named
  ``in1``, ``in2``, ... and their order is the order of the numbers (Concat's order matters).

Nothing here imports torch or dearpygui.
"""

from __future__ import annotations

import copy
import keyword
import re
from collections.abc import Iterator, Mapping
from typing import Any

import networkx as nx

from designer.core.params import frozen
from designer.core.registry import REGISTRY

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class CountedGraph(nx.MultiDiGraph):
    """A MultiDiGraph that counts every change to its nodes and wires in ``version`` (attribute
    edits are not counted), so that validation tells in constant time that the structure it saw
    last is unchanged. Bulk methods of networkx go through these."""

    version = 0

    def add_node(self, node_for_adding, **attr):
        self.version += 1
        super().add_node(node_for_adding, **attr)

    def add_nodes_from(self, nodes_for_adding, **attr):
        self.version += 1
        super().add_nodes_from(nodes_for_adding, **attr)

    def remove_node(self, n):
        self.version += 1
        super().remove_node(n)

    def remove_nodes_from(self, nodes):
        self.version += 1
        super().remove_nodes_from(nodes)

    def add_edge(self, u_for_edge, v_for_edge, key=None, **attr):
        self.version += 1
        return super().add_edge(u_for_edge, v_for_edge, key, **attr)

    def remove_edge(self, u, v, key=None):
        self.version += 1
        super().remove_edge(u, v, key)

    def clear(self):
        self.version += 1
        super().clear()

    def clear_edges(self):
        self.version += 1
        super().clear_edges()


class DesignError(ValueError):
    """An operation that would break the design's invariants (raised by ``lint`` and edits)."""


def check_id(node_id: str) -> str:
    """Node ids and port names are short identifiers, so that ``node.port`` is unambiguous."""
    if not isinstance(node_id, str) or not IDENTIFIER.match(node_id):
        raise DesignError(
            f"{node_id!r} is not a valid id: use letters, digits and '_' (not first), at most 64"
        )
    return node_id


class Design:
    """A model design. ``blocks`` holds the composite block definitions local to this design."""

    def __init__(self, name: str = "untitled") -> None:
        self.name = name
        self.graph = CountedGraph()
        self.blocks: dict[str, Any] = {}  # name -> designer.core.composite.CompositeDef
        self.meta: dict[str, Any] = {}

    @property
    def graph(self) -> CountedGraph:
        """The node-graph (a MultiDiGraph that counts its changes)."""
        return self._graph

    @graph.setter
    def graph(self, graph: nx.MultiDiGraph) -> None:
        if type(graph) is nx.MultiDiGraph:
            graph.__class__ = CountedGraph  # same object, same dicts: it now counts its changes
        self._graph = graph

    # -- queries -------------------------------------------------------------------------------
    def __contains__(self, node_id: object) -> bool:
        return node_id in self.graph

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def node_ids(self) -> list[str]:
        return list(self.graph.nodes)

    def node(self, node_id: str) -> dict[str, Any]:
        """The attribute dict of a node (type, params, label, pos, when, device, repeat)."""
        try:
            return self.graph.nodes[node_id]
        except KeyError:
            raise DesignError(f"no node {node_id!r}") from None

    def edges(self) -> Iterator[tuple[str, str, str, str]]:
        """Every wire as ``(src, src_port, dst, dst_port)``."""
        for src, dst, data in self.graph.edges(data=True):
            yield src, data["src_port"], dst, data["dst_port"]

    def inputs_of(self, node_id: str) -> dict[str, tuple[str, str]]:
        """The wires into a node: input port -> (source node, source port)."""
        into = self.graph._pred.get(node_id, {})  # networkx's own table: no view per call
        return {
            d["dst_port"]: (s, d["src_port"]) for s, keyed in into.items() for d in keyed.values()
        }

    def outputs_of(self, node_id: str) -> list[tuple[str, str, str]]:
        """The wires out of a node: (source port, destination node, destination port)."""
        return [
            (d["src_port"], t, d["dst_port"])
            for _, t, d in self.graph.out_edges(node_id, data=True)
        ]

    def nodes_of_type(self, block_type: str) -> list[str]:
        return [n for n, d in self.graph.nodes(data=True) if d["type"] == block_type]

    def spec(self, block_type: str):
        """The block spec for a type: the design's own composite blocks first, then the registry."""
        local = self.blocks.get(block_type)
        return local.spec if local is not None else REGISTRY.get(block_type)

    # -- edits ---------------------------------------------------------------------------------
    def new_id(self, base: str) -> str:
        """A fresh id from ``base`` (``conv``, ``conv_1``, ``conv_2``, ...)."""
        stem = re.sub(r"\W", "_", base).strip("_").lower() or "node"
        if stem[0].isdigit() or keyword.iskeyword(stem):
            stem = "n_" + stem
        stem = stem[:56]
        if stem not in self.graph:
            return stem
        i = 1
        while f"{stem}_{i}" in self.graph:
            i += 1
        return f"{stem}_{i}"

    def add_node(
        self,
        block_type: str,
        params: Mapping[str, Any] | None = None,
        *,
        node_id: str | None = None,
        label: str | None = None,
        pos: tuple[float, float] = (0.0, 0.0),
        when: str | None = None,
        device: str | None = None,
        repeat: int | str | None = None,
    ) -> str:
        """Add a block instance and return its id. Validation flags unknown types. Keyword
        arguments among ``params`` are held frozen (:func:`~designer.core.params.frozen`)."""
        node_id = check_id(node_id) if node_id is not None else self.new_id(block_type)
        if node_id in self.graph:
            raise DesignError(f"duplicate node id {node_id!r}")
        attrs = {
            "type": block_type,
            "params": {k: frozen(v) for k, v in (params or {}).items()},
            "label": node_id if label is None else label,
            "pos": (float(pos[0]), float(pos[1])),
        }
        if when is not None:
            attrs["when"] = when
        if device:
            attrs["device"] = device
        if repeat is not None:
            attrs["repeat"] = repeat
        self.graph.add_node(node_id, **attrs)
        return node_id

    def remove_node(self, node_id: str) -> None:
        self.node(node_id)
        self.graph.remove_node(node_id)

    def connect(
        self, src: str, src_port: str, dst: str, dst_port: str, *, replace: bool = True
    ) -> None:
        """Wire an output to an input. A wired input is rewired when ``replace`` (else an error)."""
        self.node(src), self.node(dst)
        existing = self.inputs_of(dst).get(dst_port)
        if existing is not None:
            if not replace:
                raise DesignError(
                    f"input {dst}.{dst_port} is already wired from {existing[0]}.{existing[1]}"
                )
            self.disconnect(dst, dst_port)
        self.graph.add_edge(src, dst, key=dst_port, src_port=src_port, dst_port=dst_port)

    def disconnect(self, dst: str, dst_port: str) -> tuple[str, str] | None:
        """Remove the wire into ``dst.dst_port``; returns where it came from (None if unwired)."""
        source = self.inputs_of(dst).get(dst_port)
        if source is not None:
            self.graph.remove_edge(source[0], dst, key=dst_port)
        return source

    def would_cycle(self, src: str, dst: str) -> bool:
        """True when a wire src -> dst would close a cycle."""
        return src == dst or nx.has_path(self.graph, dst, src)

    def copy(self) -> Design:
        return copy.deepcopy(self)

    # -- invariants ----------------------------------------------------------------------------
    def lint(self) -> None:
        """Raise :class:`DesignError` if an internal invariant is broken.

        These are the structure's own rules (ids, attributes, one wire per input, edge keys); a
        design that passes may still be invalid as a model, which :func:`designer.core.validate`
        reports.
        """
        for node_id, data in self.graph.nodes(data=True):
            check_id(node_id)
            for attr, kind in (("type", str), ("params", dict), ("label", str), ("pos", tuple)):
                if not isinstance(data.get(attr), kind):
                    raise DesignError(
                        f"node {node_id!r}: attribute {attr!r} must be a {kind.__name__}"
                    )
            if len(data["pos"]) != 2:
                raise DesignError(f"node {node_id!r}: pos must be (x, y)")
            repeat = data.get("repeat", 1)
            if isinstance(repeat, bool) or not isinstance(repeat, (int, str)):
                raise DesignError(f"node {node_id!r}: repeat must be a count or an expression")
        seen: set[tuple[str, str]] = set()
        for src, dst, key, data in self.graph.edges(keys=True, data=True):
            if key != data.get("dst_port") or not isinstance(data.get("src_port"), str):
                raise DesignError(f"edge {src}->{dst}: key {key!r} must equal its dst_port")
            check_id(data["src_port"]), check_id(data["dst_port"])
            if (dst, key) in seen:
                raise DesignError(f"input {dst}.{key} has more than one wire")
            seen.add((dst, key))

    def __eq__(self, other: object) -> bool:
        """Same name, metadata, nodes (in order, with attributes), wires and block definitions."""
        return isinstance(other, Design) and _key(self) == _key(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Design {self.name!r}: {len(self)} nodes, {self.graph.number_of_edges()} wires>"


def _structure(design: Design) -> tuple:
    graph = design.graph
    return design.name, design.meta, list(graph.nodes(data=True)), sorted(design.edges())


def _key(design: Design) -> tuple:
    """A design as a comparable value. Block bodies share their owner's blocks, so each body
    compares by its own structure only (definitions themselves compare by identity)."""
    blocks = {
        name: (_structure(b.body), b.params, b.category, b.doc) for name, b in design.blocks.items()
    }
    return _structure(design), blocks
