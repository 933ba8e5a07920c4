"""Attention: the module scope of a ``MultiheadAttention`` -> one MultiheadAttention block.

torch's exporter decomposes the layer into its input projection (``MatMul`` + ``Add`` by the
packed ``in_proj`` weight), heads split by ``Reshape``/``Transpose`` with the example batch
baked in, scaled ``MatMul``/``Softmax`` (plus an ``Add`` of a causal mask) and the output
projection (``Gemm``). The two projections give the weights; the number of heads and whether it
is causal are the ones whose torch layer computes what the region computes.
"""

from __future__ import annotations

import numpy as np
import torch

from designer.interop.onnx_import.context import Context, Node
from designer.interop.onnx_import.regions import (
    Region,
    close,
    layer_region,
    one_input,
    one_output,
    run_region,
)
from designer.interop.onnx_import.values import Value
from designer.live.layers.attention import Attention


def _dense(region: Region, proto) -> tuple[np.ndarray, str] | None:
    """The torch-layout weight of a ``MatMul``/``Gemm`` by a constant matrix, and its output."""
    if proto.op_type not in ("MatMul", "Gemm") or len(proto.input) < 2:
        return None
    matrix = region.const(proto.input[1])
    if matrix is None or matrix.ndim != 2 or region.const(proto.input[0]) is not None:
        return None
    if proto.op_type == "MatMul":
        return matrix.T, proto.output[0]
    attrs = Node(proto, region.opset, [], 0).attrs
    if attrs.get("transA", 0):
        return None
    weight = matrix if attrs.get("transB", 0) else matrix.T
    return weight * np.float32(attrs.get("alpha", 1.0)), proto.output[0]


def _bias(region: Region, proto, made: str, rows: int) -> np.ndarray | None:
    """The bias added to a dense output: Gemm's C, or an ``Add`` of a vector to it."""
    if proto.op_type == "Gemm" and len(proto.input) > 2 and proto.input[2]:
        beta = Node(proto, region.opset, [], 0).attrs.get("beta", 1.0)
        return np.broadcast_to(region.const(proto.input[2]), (rows,)) * np.float32(beta)
    for node in region.of_type("Add"):
        if made in node.input:
            other = next((n for n in node.input if n != made), None)
            vector = region.const(other) if other else None
            if vector is not None and vector.size == rows:
                return vector.reshape(rows)
    return None


def projections(region: Region) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Each dense layer of the region, in order: (weight, bias or None)."""
    found = []
    for proto in region.nodes:
        dense = _dense(region, proto)
        if dense is not None:
            weight, made = dense
            weight = np.ascontiguousarray(weight, np.float32)
            found.append((weight, _bias(region, proto, made, len(weight))))
    return found


def _weights(region: Region, embed: int) -> tuple[dict[str, np.ndarray], bool]:
    dense = projections(region)
    shapes = [w.shape for w, _ in dense]
    if shapes != [(3 * embed, embed), (embed, embed)]:
        raise region.refuse(
            f"its projections are {shapes}; one packed input projection ({3 * embed}×{embed}, "
            "query, key and value of one width) and the output projection convert"
        )
    (in_w, in_b), (out_w, out_b) = dense
    if (in_b is None) != (out_b is None):  # the exporter drops a bias of zeros (a fresh layer's)
        in_b = np.zeros(3 * embed, np.float32) if in_b is None else in_b
        out_b = np.zeros(embed, np.float32) if out_b is None else out_b
    weights = {"in_proj_weight": in_w, "out_proj.weight": out_w}
    if in_b is not None:
        weights.update({"in_proj_bias": in_b, "out_proj.bias": out_b})
    return weights, in_b is not None


def _layer(embed: int, heads: int, weights: dict) -> Attention:
    """The layer with these weights (not initialised first: they are loaded at once)."""
    bias = "in_proj_bias" in weights
    with torch.device("meta"):
        layer = Attention(embed, heads, bias=bias)
    layer = layer.to_empty(device="cpu")
    state = {k: torch.from_numpy(np.array(v, np.float32)) for k, v in weights.items()}
    layer.load_state_dict(state, strict=True)
    return layer.eval()


def _head_counts(region: Region, embed: int) -> list[int]:
    """Every head count ``embed`` allows, those the region's reshapes name first (ViT-B's
    ``[1, 197, 12, 64]``): the search then usually ends at its first try."""
    named = []
    for proto in region.of_type("Reshape"):
        value = region.folded.get(proto.input[1], region.values.get(proto.input[1]))
        array = getattr(value, "array", None)
        if array is not None and array.size <= 8:
            named += [int(v) for v in np.ravel(array)[1:]]  # sizes after the batch
    counts = [h for h in range(1, embed + 1) if embed % h == 0]
    return sorted(counts, key=lambda h: (h not in named, h))


@layer_region(
    "MultiheadAttention",
    ("in_proj_bias", "in_proj_weight", "out_proj.weight"),
    ("MultiheadAttention",),
    ("Softmax",),  # a scope running a softmax itself, its weights unnamed (TorchScript)
)
def multihead_attention(region: Region, ctx: Context) -> dict[str, Value]:
    name, x = one_input(region)
    made = one_output(region)
    if x.rank != 3 or x.shape[0] is not None:
        raise region.refuse(f"its input is {x.shape}; a batch-first N×L×E sequence converts")
    embed = x.shape[-1]
    weights, bias = _weights(region, embed)
    sample = region.sample(0)[name]
    (want,) = run_region(region, {name: sample})
    for heads in _head_counts(region, embed):
        layer = _layer(embed, heads, weights)
        for causal in (False, True):
            layer.causal = causal
            with torch.no_grad():
                got = layer(torch.from_numpy(sample)).numpy()
            if close(got, want):
                params = {"num_heads": heads, "causal": causal, "bias": bias}
                origin = region.node()
                out = ctx.emit("MultiheadAttention", params, [x], origin, weights, region.path)
                return {made: out}
    raise region.refuse(
        "no number of heads, causal or not, computes what its nodes compute (another mask, "
        "scale or dropout in evaluation)"
    )
