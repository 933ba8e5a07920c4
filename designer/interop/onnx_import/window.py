"""Swin's window attention: the module scope of torchvision's ``ShiftedWindowAttention`` (or
``ShiftedWindowAttentionV2``) -> one block of that name.

torch's exporter writes the layer as padding, rolls, window partitions that merge the batch with
the windows, the ``qkv`` and ``proj`` projections, and (v1) the relative position bias already
looked up: a constant (heads, P, P) for the P positions of a window. Every relative offset occurs
in it, so the layer's table is read back from it; the window is the square root of P and the
heads its first size. In v2 the position MLP stays, its first layer folded into the offsets
(solved back), and the per-head logit scale is a constant. The shift is the one (none or half a
window) whose layer computes what the region computes.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from designer.interop.onnx_import.attention import projections
from designer.interop.onnx_import.context import Context
from designer.interop.onnx_import.regions import (
    Region,
    close,
    layer_region,
    one_input,
    one_output,
    run_region,
)
from designer.interop.onnx_import.values import Const, Value
from designer.live.layers.window import (
    ShiftedWindowAttention,
    ShiftedWindowAttentionV2,
    window_position_index,
)

MASK_VALUES = (0.0, -100.0)  # the shifted windows' mask: a constant too, told apart by these


def _position_bias(region: Region) -> np.ndarray:
    """The (heads, P, P) bias the region adds to its scores."""
    for proto in region.of_type("Add"):
        for name in proto.input:
            value = region.const(name) if name else None
            if value is None or value.ndim < 3 or value.shape[-1] != value.shape[-2]:
                continue
            square = math.isqrt(value.shape[-1]) ** 2 == value.shape[-1]
            if square and not np.isin(value, MASK_VALUES).all():
                return value.reshape(-1, *value.shape[-2:])
    raise region.refuse("no constant relative position bias (heads × P × P) is added to its scores")


def _table(bias: np.ndarray, window: int) -> np.ndarray:
    """The layer's ((2w-1)², heads) table: each relative offset's bias, read off ``bias``."""
    heads, positions = bias.shape[0], bias.shape[-1]
    index = window_position_index(window, window).numpy()
    table = np.zeros(((2 * window - 1) ** 2, heads), np.float32)
    table[index] = bias.reshape(heads, positions * positions).T
    return table


def _layer(cls, channels: int, window: int, heads: int, shift: int, weights: dict):
    """The torch layer with the region's weights (its buffers its own)."""
    bias = {
        "qkv_bias": weights["qkv.bias"] is not None,
        "proj_bias": weights["proj.bias"] is not None,
    }
    layer = cls(channels, window, shift, heads, **bias)
    state = {
        k: torch.from_numpy(np.array(v, np.float32)) for k, v in weights.items() if v is not None
    }
    buffers = dict(layer.named_buffers())
    layer.load_state_dict({**state, **buffers}, strict=True)
    return layer.eval()


def _shared_constants(region: Region) -> dict[str, Value]:
    """Values the region computes from sizes alone that later layers read too (the exporter
    computes a mask once for every layer with the same shift)."""
    found = {}
    for name in region.makes:
        value = region.const(name)
        if value is not None:
            found[name] = Const(value)
    return found


def _check_input(region: Region, x) -> None:
    if x.rank != 4 or x.shape[0] is not None:
        raise region.refuse(f"its input is {x.shape}; an N×H×W×C map converts")
    channels = x.shape[-1]
    shapes = [w.shape for w, _ in projections(region)[-2:]]
    if shapes != [(3 * channels, channels), (channels, channels)]:
        raise region.refuse(f"its projections are {shapes}; qkv and proj of {channels} convert")


def _fit(region: Region, ctx: Context, io: tuple, window: int, heads: int, weights: dict, cls):
    """The block whose layer, with no shift or half a window's, computes what the region does."""
    name, x, made, shared = io
    sample = region.sample(0)[name]
    (want,) = run_region(region, {name: sample}, [made])
    for shift in (0, window // 2):
        layer = _layer(cls, x.shape[-1], window, heads, shift, weights)
        with torch.no_grad():
            got = layer(torch.from_numpy(sample)).numpy()
        if close(got, want):
            params = {
                "window_size": (window, window),
                "shift_size": (shift, shift),
                "num_heads": heads,
                "qkv_bias": weights["qkv.bias"] is not None,
                "proj_bias": weights["proj.bias"] is not None,
            }
            state = {k: v.numpy() for k, v in layer.state_dict().items()}
            out = ctx.emit(cls.__name__, params, [x], region.node(), state, region.path)
            return {**shared, made: out}
    raise region.refuse(
        f"neither no shift nor a shift of {window // 2} computes what its nodes compute "
        f"(window {window}, {heads} heads)"
    )


@layer_region(
    "ShiftedWindowAttention",
    ("relative_position_bias_table",),
    ("ShiftedWindowAttention",),
)
def shifted_window_attention(region: Region, ctx: Context) -> dict[str, Value]:
    name, x = one_input(region)
    shared = _shared_constants(region)
    made = one_output(region, skip=set(shared))
    _check_input(region, x)
    (qkv_w, qkv_b), (proj_w, proj_b) = projections(region)[-2:]
    bias = _position_bias(region)
    heads, window = bias.shape[0], math.isqrt(bias.shape[-1])
    weights = {"qkv.weight": qkv_w, "qkv.bias": qkv_b, "proj.weight": proj_w, "proj.bias": proj_b}
    weights["relative_position_bias_table"] = _table(bias, window)
    io = (name, x, made, shared)
    return _fit(region, ctx, io, window, heads, weights, ShiftedWindowAttention)


def _cpb_mlp(region: Region) -> tuple[int, dict[str, np.ndarray]]:
    """Swin V2's position MLP: the window and the weights of its two layers. The exporter folds
    the first layer into the offsets table (``coords @ W1.T``); it is solved back, bias and all."""
    relu = region.of_type("Relu")
    hidden = region.const(relu[0].input[0]) if len(relu) == 1 else None
    if hidden is None or hidden.ndim != 4:
        raise region.refuse("no constant position MLP (Linear, ReLU, Linear) is found")
    window = (hidden.shape[1] + 1) // 2
    coords = ShiftedWindowAttentionV2.log_offsets(window, window).numpy().reshape(-1, 2)
    affine = np.concatenate([coords, np.ones((len(coords), 1))], 1).astype(np.float64)
    solved = np.linalg.lstsq(affine, hidden.reshape(len(coords), -1).astype(np.float64))[0]
    second = [p for p in region.of_type("MatMul") if relu[0].output[0] in p.input]
    matrix = region.const(second[0].input[1]) if second else None
    if matrix is None:
        raise region.refuse("the position MLP's second layer is computed at run time")
    weights = {
        "cpb_mlp.0.weight": solved[:2].T,
        "cpb_mlp.0.bias": solved[2],
        "cpb_mlp.2.weight": matrix.T,
    }
    return window, weights


def _logit_scale(region: Region, heads: int) -> np.ndarray:
    """log of the (heads, 1, 1) scale the cosine scores are multiplied by."""
    for proto in region.of_type("Mul"):
        for name in proto.input:
            value = region.const(name) if name else None
            if value is not None and value.shape == (heads, 1, 1):
                return np.log(value)
    raise region.refuse("no constant per-head logit scale multiplies its scores")


@layer_region("ShiftedWindowAttentionV2", ("cpb_mlp.0.bias",), ("ShiftedWindowAttentionV2",))
def shifted_window_attention_v2(region: Region, ctx: Context) -> dict[str, Value]:
    name, x = one_input(region)
    shared = _shared_constants(region)
    made = one_output(region, skip=set(shared))
    _check_input(region, x)
    dense = projections(region)[-2:]
    window, weights = _cpb_mlp(region)
    heads = weights["cpb_mlp.2.weight"].shape[0]
    weights["logit_scale"] = _logit_scale(region, heads)
    (qkv_w, qkv_b), (proj_w, proj_b) = dense
    weights.update(
        {"qkv.weight": qkv_w, "qkv.bias": qkv_b, "proj.weight": proj_w, "proj.bias": proj_b}
    )
    return _fit(
        region, ctx, (name, x, made, shared), window, heads, weights, ShiftedWindowAttentionV2
    )
