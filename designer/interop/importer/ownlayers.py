"""The layers of designer's own live models and generated code (``designer.live.layers``),
mapped back to their blocks, so that importing a built design gives the design back.

They are torch's layers with the blocks' ports: the attention and Transformer layers take
masks by name and return one tensor, the recurrent layers take ``h0`` (``c0``) and return
``out, h[, c]`` as one flat tuple, a Parameter is a layer called without input.
"""

from __future__ import annotations

from typing import Any

from torch import fx

from designer.interop.importer.calls import Call, bound_args, wired
from designer.interop.importer.foreign import foreign
from designer.interop.importer.modules import recurrent_params, transformer_params
from designer.live.layers import attention, embedding, norm, recurrent, regularization


def _attention(m: attention.Attention) -> dict[str, Any]:
    bias = m.in_proj_bias is not None
    return {"num_heads": m.num_heads, "dropout": m.dropout, "bias": bias, "causal": m.causal}


def _layer_norm(m: norm.LayerNorm2d) -> dict[str, Any]:
    return {"eps": m.eps, "elementwise_affine": m.elementwise_affine, "bias": m.bias is not None}


OWN = {
    attention.Attention: ("MultiheadAttention", _attention),
    attention.EncoderLayer: (
        "TransformerEncoderLayer",
        lambda m: {**transformer_params(m), "causal": m.causal},
    ),
    attention.DecoderLayer: (
        "TransformerDecoderLayer",
        lambda m: {**transformer_params(m), "causal": m.causal},
    ),
    recurrent.LSTM: ("LSTM", recurrent_params),
    recurrent.GRU: ("GRU", recurrent_params),
    recurrent.RNN: ("RNN", recurrent_params),
    embedding.LearnedTensor: ("Parameter", lambda m: {"shape": tuple(m.weight.shape)}),
    embedding.ExpandBatch: ("ExpandBatch", lambda m: {}),
    norm.LayerNorm2d: ("LayerNorm2d", _layer_norm),
    regularization.DropPath: ("DropPath", lambda m: {"p": m.p}),
}

PORTS = {
    attention.Attention: ("query", "key", "value", "key_padding_mask", "attn_mask"),
    attention.EncoderLayer: ("src", "src_mask", "src_key_padding_mask"),
    attention.DecoderLayer: (
        "tgt",
        "memory",
        "tgt_mask",
        "memory_mask",
        "tgt_key_padding_mask",
        "memory_key_padding_mask",
    ),
    recurrent.LSTM: ("input", "h0", "c0"),
    recurrent.GRU: ("input", "h0"),
    recurrent.RNN: ("input", "h0"),
    embedding.LearnedTensor: (),
    embedding.ExpandBatch: ("x", "like"),
}
OUTPUTS = {
    recurrent.LSTM: ("out", "h", "c"),
    recurrent.GRU: ("out", "h"),
    recurrent.RNN: ("out", "h"),
}


def bind_own(cls: type, node: fx.Node, ctx) -> Call | None:
    """The wiring of a call of one of designer's layers with ports of its own, else None."""
    ports = PORTS.get(cls)
    if ports is None and (entry := foreign(cls)) is not None:
        ports = entry[2]
    if ports is None:
        return None
    call = wired(ctx, bound_args(node, ports), ports)
    call.outputs = OUTPUTS.get(cls, "out")
    return call


def map_own(module) -> tuple[str, dict[str, Any]] | None:
    """The block type and raw parameters of one of designer's layers, else None."""
    entry = OWN.get(type(module)) or foreign(type(module))
    return None if entry is None else (entry[0], entry[1](module))
