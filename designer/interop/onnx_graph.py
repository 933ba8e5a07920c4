"""Tidying an exported ONNX model: readable names, designer metadata, no exporter internals.

torch's exporter annotates every node and value with its own bookkeeping (fx node text, Python
stack traces with the exporting machine's file paths, name scopes). Those bytes mean nothing to a
deployment runtime and leak local paths, so they are dropped, after the name scopes have served to
give each node a readable name: the module path it came from (``inc.double_conv.0/Conv``), the same
path that names the weights in the state dict and the attributes in the generated code.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

SCOPES = "pkg.torch.onnx.name_scopes"


def sanitize(label: str, fallback: str) -> str:
    """An identifier-like ONNX value name from a free-text label (``fallback`` if none is left)."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", label).strip("_")
    if not name:
        name = fallback
    return f"_{name}" if name[0].isdigit() else name


def unique_names(names: Iterable[str]) -> list[str]:
    """``names`` with repeats suffixed ``_2``, ``_3``... so each is distinct."""
    seen: set[str] = set()
    result = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        result.append(candidate)
    return result


def op_counts(model: Any) -> Counter:
    """How many nodes of each op type the model's main graph has."""
    return Counter(node.op_type for node in model.graph.node)


def tidy(model: Any, *, graph_name: str, doc: str, metadata: Mapping[str, str]) -> None:
    """Name nodes after their modules, drop exporter metadata, set ``metadata`` (in place)."""
    _name_nodes(model.graph)
    _strip_metadata(model.graph)
    model.graph.name = graph_name
    model.doc_string = doc
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def _name_nodes(graph: Any) -> None:
    """Each node named ``module.path/OpType`` (unique), when the exporter recorded its module."""
    weights = {init.name for init in graph.initializer}
    proposed = [_node_name(node, weights) for node in graph.node]
    for node, name in zip(graph.node, unique_names(proposed), strict=True):
        node.name = name


def _node_name(node: Any, weights: set[str]) -> str:
    """The module owning the node's weight, else the innermost module scope, plus the op type.

    Scopes starting with ``_`` are the exporter's own (shape arithmetic outside any module)."""
    for value in node.input:
        if value in weights and value.endswith(".weight"):
            return f"{value[: -len('.weight')]}/{node.op_type}"
    scopes = next((p.value for p in node.metadata_props if p.key == SCOPES), None)
    if scopes:
        try:
            path = [s for s in ast.literal_eval(scopes)[:-1] if s and not s.startswith("_")]
        except (ValueError, SyntaxError):
            path = []
        if path:
            return f"{path[-1]}/{node.op_type}"
    return node.op_type


def _strip_metadata(graph: Any) -> None:
    """Drop metadata properties from nodes, values and weights (exporter bookkeeping)."""
    for items in (graph.node, graph.input, graph.output, graph.value_info, graph.initializer):
        for item in items:
            if hasattr(item, "metadata_props"):
                del item.metadata_props[:]
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                _strip_metadata(attr.g)
