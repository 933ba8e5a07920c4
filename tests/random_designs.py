"""A small random generator of valid designs: chains and branches over a subset of the registry.

Each design starts from one Input and grows by picking an existing tensor and applying a block
(or merging two tensors of compatible shapes); every addition is validated and undone when the
core rejects it, so what comes out is always valid. A local composite block with a conditional
node, expressions and two outputs is part of the menu, to exercise generic block classes.
"""

from __future__ import annotations

import random

from designer import Design, loads, validate

LOCAL_BLOCKS = {
    "ConvUnit": {
        "doc": "Convolution, optional batch norm, activation; also returns the raw convolution",
        "params": [
            {"name": "out_channels", "type": "int", "default": 8, "min": 1, "max": 4096},
            {"name": "use_bn", "type": "bool", "default": True},
            {"name": "stride", "type": "int", "default": 1, "min": 1, "max": 4},
            {"name": "width", "type": "int", "default": None, "optional": True, "min": 1},
        ],
        "nodes": [
            {"id": "x", "type": "Input"},
            {
                "id": "conv",
                "type": "Conv2d",
                "params": {
                    "out_channels": {"expr": "width or out_channels"},
                    "kernel_size": 3,
                    "padding": 1,
                    "stride": {"expr": "stride"},
                },
            },
            {"id": "bn", "type": "BatchNorm2d", "when": "use_bn"},
            {"id": "act", "type": "ReLU"},
            {
                "id": "proj",
                "type": "Conv2d",
                "params": {
                    "out_channels": {"expr": "out_channels"},
                    "kernel_size": 1,
                    "padding": 0,
                },
            },
            {"id": "y", "type": "Output"},
            {"id": "raw", "type": "Output"},
        ],
        "edges": [
            {"from": "x.out", "to": "conv.in"},
            {"from": "conv.out", "to": "bn.in"},
            {"from": "bn.out", "to": "act.in"},
            {"from": "act.out", "to": "proj.in"},
            {"from": "proj.out", "to": "y.in"},
            {"from": "conv.out", "to": "raw.in"},
        ],
    }
}

UNARY = [
    ("Conv2d", lambda r: {"out_channels": r.choice([4, 6, 8]), "kernel_size": 3, "padding": 1}),
    ("Conv2d", lambda r: {"out_channels": r.choice([4, 8]), "kernel_size": 1, "padding": 0}),
    ("BatchNorm2d", lambda r: {}),
    ("ReLU", lambda r: {}),
    ("LeakyReLU", lambda r: {"negative_slope": r.choice([0.01, 0.2])}),
    ("GELU", lambda r: {}),
    ("MaxPool2d", lambda r: {"kernel_size": 2}),
    ("AvgPool2d", lambda r: {"kernel_size": 2}),
    ("Upsample", lambda r: {"scale_factor": 2.0, "mode": r.choice(["nearest", "bilinear"])}),
    ("GroupNorm", lambda r: {"num_groups": 2}),
    ("Identity", lambda r: {}),
    ("Dropout", lambda r: {"p": 0.3}),
    ("DoubleConv", lambda r: {"out_channels": r.choice([4, 8])}),
    ("Down", lambda r: {"out_channels": r.choice([4, 8])}),
    (
        "ConvUnit",
        lambda r: {
            "out_channels": r.choice([4, 8]),
            "use_bn": r.random() < 0.5,
            "stride": r.choice([1, 2]),
            "width": r.choice([None, 6]),
        },
    ),
]
BINARY = ["Add", "Concat", "Multiply", "PadToMatch", "Up"]


def _new_design(rng: random.Random, name: str) -> Design:
    import json

    header = {"format": "torch-designer", "version": 1, "name": name}
    text = json.dumps({**header, "blocks": LOCAL_BLOCKS, "nodes": [], "edges": []})
    design = loads(text)
    channels, size = rng.choice([2, 3, 4]), rng.choice([8, 12, 16])
    design.add_node("Input", {"shape": [channels, size, size]}, node_id="x")
    return design


def _outputs(design: Design, report, node_id: str) -> list[tuple[str, str]]:
    spec = design.spec(design.node(node_id)["type"])
    return [(node_id, p) for p in spec.outputs]


def random_design(seed: int, steps: int = 8) -> Design:
    """A valid design of about ``steps`` blocks, reproducible from ``seed``."""
    rng = random.Random(seed)
    design = _new_design(rng, f"random_{seed}")
    tensors = [("x", "out")]
    for _ in range(steps * 4):
        if len(tensors) >= steps + 1:
            break
        added = _try_binary(design, rng, tensors) if rng.random() < 0.3 else None
        added = added or _try_unary(design, rng, tensors)
        if added:
            tensors += added
    for i, (node, port) in enumerate(_sinks(design, tensors, rng)):
        out = design.add_node("Output", node_id=f"out{i}", label=rng.choice(["y", "logits", "out"]))
        design.connect(node, port, out, "in")
    assert validate(design).ok, validate(design).errors
    return design


def _try_unary(design: Design, rng: random.Random, tensors) -> list | None:
    block, params = rng.choice(UNARY)
    src = rng.choice(tensors)
    node = design.add_node(block, params(rng))
    design.connect(*src, node, design.spec(block).inputs[0])
    return _keep(design, node)


def _try_binary(design: Design, rng: random.Random, tensors) -> list | None:
    if len(tensors) < 2:
        return None
    block = rng.choice(BINARY)
    a, b = rng.sample(tensors, 2)
    node = design.add_node(block, {"out_channels": 4} if block == "Up" else {})
    ports = design.spec(block).input_ports(1)
    for src, port in zip((a, b), ports, strict=True):
        design.connect(*src, node, port)
    return _keep(design, node)


def _keep(design: Design, node: str) -> list | None:
    """Keep ``node`` when the design stays valid and its output is not degenerate."""
    report = validate(design)
    info = report.nodes.get(node)
    errors = [i for i in report.errors if i.node is not None and i.node.split("/")[0] == node]
    if errors or info is None or any(min(s[1:]) < 1 or len(s) != 4 for s in info.out_shapes):
        design.remove_node(node)
        return None
    return _outputs(design, report, node)


def _sinks(design: Design, tensors, rng: random.Random) -> list[tuple[str, str]]:
    """The last tensor, plus one earlier tensor (a second output) now and then."""
    sinks = [tensors[-1]]
    if len(tensors) > 2 and rng.random() < 0.3:
        sinks.append(rng.choice(tensors[1:-1]))
    return sinks
