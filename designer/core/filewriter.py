"""Design files' structure, written: plain JSON data in a stable key order (parameters sorted,
positions rounded) so that saving again gives the same text and diffs stay readable."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from designer.core.composite import CompositeDef
from designer.core.filereader import FORMAT, VERSION
from designer.core.graph import Design


def design_to_dict(design: Design) -> dict[str, Any]:
    """Plain JSON data in a stable key order (params sorted) so that diffs stay readable."""
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": design.name}
    if design.meta:
        data["meta"] = design.meta
    if design.blocks:
        data["blocks"] = {
            name: composite_to_dict(block) for name, block in sorted(design.blocks.items())
        }
    data.update(_graph_to_dict(design))
    return data


def composite_to_dict(block: CompositeDef) -> dict[str, Any]:
    data: dict[str, Any] = {"category": block.category, "doc": block.doc, "params": []}
    for p in block.params:
        entry: dict[str, Any] = {"name": p.name, "type": p.kind, "default": p.to_json()}
        for key in ("min", "max", "length", "most"):
            if getattr(p, key) is not None:
                entry[key] = getattr(p, key)
        if p.choices:
            entry["choices"] = list(p.choices)
        if p.optional:
            entry["optional"] = True
        if p.doc:
            entry["doc"] = p.doc
        data["params"].append(entry)
    data.update(_graph_to_dict(block.body))
    return data


def _graph_to_dict(design: Design) -> dict[str, Any]:
    nodes = []
    for node_id in design.node_ids():
        d = design.node(node_id)
        entry = {
            "id": node_id,
            "type": d["type"],
            "label": d["label"],
            "params": _jsonable(dict(sorted(d["params"].items()))),
        }
        if "when" in d:
            entry["when"] = d["when"]
        if "repeat" in d:
            entry["repeat"] = d["repeat"]
        if d.get("device"):
            entry["device"] = d["device"]
        entry["pos"] = [_num(d["pos"][0]), _num(d["pos"][1])]
        nodes.append(entry)
    edges = [{"from": f"{s}.{sp}", "to": f"{t}.{tp}"} for s, sp, t, tp in design.edges()]
    return {"nodes": nodes, "edges": edges}


def _num(value: float) -> float | int:
    rounded = round(float(value), 2)  # round first, so that saving again gives the same text
    return int(rounded) if rounded.is_integer() else rounded


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def model_fingerprint(design: Design) -> str:
    """SHA-256 of what builds the model: the design without canvas positions (moving a node keeps
    its weights; labels stay in, since they name the weights)."""

    def strip(value: Any) -> Any:
        if isinstance(value, list):
            return [strip(v) for v in value]
        if not isinstance(value, dict):
            return value
        return {k: strip(v) for k, v in value.items() if not (k == "pos" and "type" in value)}

    text = json.dumps(strip(design_to_dict(design)), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dumps(design: Design) -> str:
    return json.dumps(design_to_dict(design), indent=2, ensure_ascii=False) + "\n"
