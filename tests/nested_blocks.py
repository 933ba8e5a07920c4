"""Design files with blocks nested in blocks, for the nesting and fuzz tests."""

from __future__ import annotations

import json


def wrapper(inner: str, extra: bool) -> dict:
    """A block whose body is Input -> ``inner`` (-> ReLU) -> Output."""
    nodes = [
        {"id": "x", "type": "Input"},
        {"id": "b", "type": inner},
        {"id": "y", "type": "Output"},
    ]
    edges = [{"from": "x.out", "to": "b.x"}]
    last = "b.y"
    if extra:
        nodes.insert(2, {"id": "act", "type": "ReLU"})
        edges.append({"from": last, "to": "act.in"})
        last = "act.out"
    edges.append({"from": last, "to": "y.in"})
    return {"params": [], "nodes": nodes, "edges": edges}


def leaf(width: int) -> dict:
    return {
        "params": [{"name": "out_channels", "type": "int", "default": width, "min": 1}],
        "nodes": [
            {"id": "x", "type": "Input"},
            {
                "id": "conv",
                "type": "Conv2d",
                "params": {"out_channels": {"expr": "out_channels"}, "kernel_size": 1},
            },
            {"id": "y", "type": "Output"},
        ],
        "edges": [{"from": "x.out", "to": "conv.in"}, {"from": "conv.out", "to": "y.in"}],
    }


def nested_file(names: list[str], extras: list[bool], width: int) -> str:
    """A design whose top uses names[0], which uses names[1], ..., down to a convolution."""
    blocks = {names[-1]: leaf(width)}
    for outer, inner, extra in zip(names, names[1:], extras, strict=False):
        blocks[outer] = wrapper(inner, extra)
    data = {
        "format": "torch-designer",
        "version": 1,
        "name": "nested",
        "blocks": dict(sorted(blocks.items(), key=lambda kv: names.index(kv[0]))),
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [3, 8, 8]}},
            {"id": "top", "type": names[0]},
            {"id": "y", "type": "Output"},
        ],
        "edges": [{"from": "x.out", "to": "top.x"}, {"from": "top.y", "to": "y.in"}],
    }
    return json.dumps(data)
