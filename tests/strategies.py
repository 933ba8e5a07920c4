"""Hypothesis strategies for random designs over the whole block registry.

``designs()`` grows a design one block at a time: it draws a block type from the registry (every
family, composite blocks included), draws parameters from the block's own Param specs (capped to
sizes a CPU test can run), wires it to tensors already in the design (so branches and skip
connections appear: Add, Multiply and Concat join earlier tensors), and keeps the block only if
validation accepts it. ``invalid_designs()`` then breaks one parameter of such a design so that
validation rejects it; properties check that torch agrees.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from designer import Analyzer, Design, loads
from designer.blocks import REGISTRY
from designer.core.params import Param

# A design-local composite block with a conditional node, expressions and two outputs, so that
# random designs also exercise blocks defined in the file (generic classes in generated code).
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


# Names that generated code must never let a design shadow: builtins it or the expressions call,
# the module's own names, locals of forward, dunders (mangled or special in a class body),
# nn.Module members and (soft) keywords. Drawn for composite parameters, ids and labels.
HOSTILE_NAMES = [
    *("max", "min", "int", "abs", "len", "range", "super", "self", "print", "type", "object"),
    *("torch", "nn", "F", "pad_to_match", "x", "h", "x1", "ConvUnit", "Random", "match", "case"),
    *("__class__", "__init__", "__dict__", "__width", "__debug__", "__name__", "__builtins__"),
    *("forward", "training", "_modules", "_parameters", "state_dict", "to", "cuda", "eval"),
]
KEYWORDS = ["class", "None", "True", "lambda", "return", "_", "def"]


def hostile_block(names: list[str], labels: list[str]) -> dict:
    """ConvUnit with hostile parameter names (``names``: out_channels, use_bn, stride, width, an
    unused one; the first four as expressions read them, next to calls of ``max``, ``int``...),
    hostile body ids and labels, and bounds instead of CAPS (which go by parameter name)."""
    out, bn, stride, width, unused = names
    block = json.loads(json.dumps(LOCAL_BLOCKS["ConvUnit"]))
    bounds = [(out, 1, 12), (bn, None, None), (stride, 1, 3), (width, 1, 12)]
    for param, (name, lo, hi) in zip(block["params"], bounds, strict=True):
        param["name"] = name
        if lo is not None:
            param.update(min=lo, max=hi)
    block["params"].append({"name": unused, "type": "int", "default": 1})
    ids = dict(zip(("x", "y", "raw"), labels[:3], strict=True))
    nodes = {n["id"]: n for n in block["nodes"]}
    nodes["conv"]["params"].update(
        out_channels={"expr": f"max({width} or {out}, 1)"}, stride={"expr": f"int({stride})"}
    )
    nodes["bn"]["when"] = f"{bn} and min({out}, 2) > 0"
    nodes["proj"]["params"]["out_channels"] = {"expr": f"min(abs({out}), 4096)"}
    for node, label in zip(block["nodes"], labels[3:] * 7, strict=False):
        node["label"] = label
        node["id"] = ids.get(node["id"], node["id"])
    for edge in block["edges"]:
        for end in ("from", "to"):
            node_id, port = edge[end].split(".")
            edge[end] = f"{ids.get(node_id, node_id)}.{port}"
    return block


CAPS = {  # keep tensors small: (min, max) by parameter name
    "out_channels": (1, 12),
    "out_features": (1, 16),
    "kernel_size": (1, 4),
    "stride": (1, 3),
    "padding": (0, 2),
    "output_padding": (0, 2),
    "dilation": (1, 2),
    "groups": (1, 3),
    "num_groups": (1, 4),
    "output_size": (1, 4),
    "size": (1, 12),
    "dims": (1, 3),
    "dim": (-3, 3),
    "start_dim": (0, 3),
    "end_dim": (-1, 3),
    "dim0": (-3, 3),  # the tensor plumbing (designer/blocks/tensors.py)
    "dim1": (-3, 3),
    "index": (-2, 2),
    "start": (-2, 2),
    "end": (-2, 2),
    "step": (1, 2),
    "split_size_or_sections": (1, 8),
    "chunks": (2, 4),  # Chunk: as many outputs
    "upscale_factor": (1, 2),
    "downscale_factor": (1, 2),
    "sizes": (-1, 8),
    "shape": (-1, 8),  # Reshape's sizes (an Input's shape is drawn as a list of its own)
    "num_embeddings": (8, 16),
    "embedding_dim": (1, 8),
    "padding_idx": (-2, 8),
    "num_parameters": (1, 4),
    "hidden_size": (1, 8),
    "num_layers": (1, 2),
    "proj_size": (0, 3),
    "num_heads": (1, 4),  # attention (designer/blocks/attention.py)
    "nhead": (1, 4),
    "dim_feedforward": (1, 16),
    "window_size": (1, 4),  # windows (designer/blocks/window.py)
    "shift_size": (0, 3),
}
SKIP = {"Input", "Output"}
STARTS = [(3, 12, 12), (4, 10), (2, 6, 6, 6), (5, 16), (8,)]
ID_STARTS = [(6,), (3, 4)]  # int64 token ids: N×6, N×3×4


def block_names() -> list[str]:
    return [s.name for s in REGISTRY if s.name not in SKIP] + list(LOCAL_BLOCKS)


def _empty_design(blocks: dict | None = None) -> Design:
    """A design that knows the local blocks and has no nodes yet."""
    data = {
        "format": "torch-designer",
        "version": 1,
        "name": "random",
        "blocks": LOCAL_BLOCKS if blocks is None else blocks,
        "nodes": [],
        "edges": [],
    }
    return loads(json.dumps(data))


@st.composite
def param_values(draw, spec) -> dict:
    """Values for some of a block's parameters, drawn from its Param specs."""
    values = {}
    for p in spec.params:
        if draw(st.booleans()):
            values[p.name] = draw(param_value(p))
    return values


def param_value(p: Param) -> st.SearchStrategy:
    lo, hi = CAPS.get(
        p.name, (p.min if p.min is not None else -3, p.max if p.max is not None else 8)
    )
    lo = max(lo, p.min) if p.min is not None else lo
    hi = min(hi, p.max) if p.max is not None else hi
    ints = st.integers(int(lo), int(max(lo, hi)))
    options: list[st.SearchStrategy] = []
    if p.kind == "int":
        options.append(ints)
    elif p.kind == "float":
        options.append(st.floats(max(float(p.min or 0), 0.0), min(float(p.max or 4), 4.0)))
    elif p.kind == "bool":
        options.append(st.booleans())
    elif p.kind == "choice":
        options.append(st.sampled_from(p.choices))
    elif p.kind == "ints":
        options.append(ints)
        if p.length:
            options.append(st.lists(ints, min_size=p.length, max_size=p.length))
        if p.choices:
            options.append(st.sampled_from(p.choices))
    elif p.kind == "shape":
        options.append(st.lists(st.integers(1, 8), min_size=1, max_size=4))
    if p.optional:
        options.append(st.none())
    return st.one_of(options)


@st.composite
def hostile_blocks(draw) -> dict:
    """The local blocks, ConvUnit renamed and with hostile parameter names, ids and labels."""
    unique = st.lists(st.sampled_from(HOSTILE_NAMES), min_size=7, max_size=7, unique=True)
    names, ids = draw(unique), draw(unique)
    names[4] = draw(st.sampled_from([*KEYWORDS, *HOSTILE_NAMES]).filter(lambda n: n not in names))
    labels = draw(st.lists(st.sampled_from([*HOSTILE_NAMES, *KEYWORDS]), min_size=6, max_size=6))
    block_name = draw(st.sampled_from(["ConvUnit", "Random", "F", "nn", "torch", "Module"]))
    return {block_name: hostile_block(names[:5], ids[:3] + labels)}


@st.composite
def designs(
    draw, max_blocks: int = 8, blocks: list[str] | None = None, hostile: bool = False
) -> Design:
    """A valid random design: one Input, up to ``max_blocks`` blocks, one Output per open end.
    ``hostile``: the local block has hostile names (``hostile_blocks``), every node a label from
    ``HOSTILE_NAMES``."""
    local = draw(hostile_blocks()) if hostile else LOCAL_BLOCKS
    names = blocks or [s.name for s in REGISTRY if s.name not in SKIP] + list(local)
    starts = STARTS
    if hostile:  # mostly the hostile block, on images
        names, starts = [*local, *local, "Conv2d", "ReLU", "Add", "Concat", "Upsample"], STARTS[:1]
    design = _empty_design(local)
    if not hostile and draw(st.integers(0, 4)) == 0:  # token ids, for Embedding and friends
        start = {"shape": list(draw(st.sampled_from(ID_STARTS))), "dtype": "int64"}
    else:
        start = {"shape": list(draw(st.sampled_from(starts)))}
    design.add_node("Input", start, node_id="x")
    analyzer = Analyzer()
    report = analyzer.run(design)
    tensors = [("x", "out")]
    for step in range(draw(st.integers(1, max_blocks))):
        for _attempt in range(6):
            spec = design.spec(draw(st.sampled_from(names)))
            n_inputs = (
                draw(st.integers(spec.min_inputs, 3))
                if spec.variadic
                else len(spec.required_inputs) + draw(st.integers(0, len(spec.optional_inputs)))
            )
            sources = [draw(st.sampled_from(tensors)) for _ in range(n_inputs)]
            node_id = f"n{step}"
            design.add_node(spec.name, draw(param_values(spec)), node_id=node_id)
            ports = spec.input_ports(n_inputs - 1) if spec.variadic else spec.inputs
            for (src, port), dst_port in zip(sources, ports, strict=False):
                design.connect(src, port, node_id, dst_port)
            report = analyzer.run(design)
            if node_id in report.nodes:
                tensors.extend((node_id, p) for p in report.nodes[node_id].ports)
                break
            design.remove_node(node_id)
    used = {src for src, _, _, _ in design.edges()}
    for i, (node_id, port) in enumerate(t for t in tensors if t[0] not in used or t == tensors[-1]):
        design.add_node("Output", node_id=f"out{i}")
        design.connect(node_id, port, f"out{i}", "in")
    if hostile:
        for node_id in design.node_ids():
            design.node(node_id)["label"] = draw(st.sampled_from([*HOSTILE_NAMES, *KEYWORDS]))
    return design


BREAKERS = {  # values likely to break a small design, by parameter name
    "kernel_size": [99, 13],
    "padding": [40],
    "groups": [7, 5],
    "num_groups": [7, 5],
    "dim": [5, -6],
    "start_dim": [4, 5],
    "end_dim": [5],
    "dims": [5, 4],
    "output_size": [0],
    "output_padding": [3],
    "out_channels": [11, 7],
    "out_features": [13],
    "scale_factor": [0.01],
    "size": [[1, 2, 3, 4]],
}


@st.composite
def invalid_designs(draw, max_blocks: int = 6) -> tuple[Design, str]:
    """A valid design with one parameter changed so that validation rejects it; and that node."""
    from hypothesis import assume

    from designer import validate

    design = draw(designs(max_blocks))
    tries = [
        (node_id, name, value)
        for node_id in design.node_ids()
        for name, values in BREAKERS.items()
        if name in design.spec(design.node(node_id)["type"]).param_index
        for value in values
    ]
    for node_id, name, value in draw(st.permutations(tries)):
        params = design.node(node_id)["params"]
        old = params.get(name, _MISSING)
        params[name] = value
        if not validate(design).ok:
            return design, node_id
        if old is _MISSING:
            del params[name]
        else:
            params[name] = old
    assume(False)  # nothing breaks this design: draw another
    raise AssertionError("unreachable")


_MISSING = object()
