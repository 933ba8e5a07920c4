"""torch.nn layers -> block types: each layer's constructor arguments read back from the instance.

Only the exact classes listed map (a subclass may compute something else); ``in_channels`` and
``in_features`` are never read, as the design infers them. An argument the block cannot express
(``momentum=None``, ``return_indices=True``, ...) raises :class:`Unsupported` naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch.nn.functional as F
from torch import nn


class Unsupported(ValueError):
    """Something the block vocabulary cannot express; the message says what."""


def _conv(m: nn.Module) -> dict[str, Any]:
    return {
        "out_channels": m.out_channels,
        "kernel_size": m.kernel_size,
        "stride": m.stride,
        "padding": m.padding,
        "dilation": m.dilation,
        "groups": m.groups,
        "bias": m.bias is not None,
        "padding_mode": m.padding_mode,
    }


def _conv_transpose(m: nn.Module) -> dict[str, Any]:
    if m.padding_mode != "zeros":
        raise Unsupported(f"padding_mode={m.padding_mode!r}: transposed convolutions pad zeros")
    params = _conv(m)
    del params["padding_mode"]
    return {**params, "output_padding": m.output_padding}


def _norm(m: nn.Module) -> dict[str, Any]:
    if m.momentum is None:
        raise Unsupported("momentum=None (a cumulative average) has no block parameter")
    return {
        "eps": m.eps,
        "momentum": m.momentum,
        "affine": m.affine,
        "track_running_stats": m.track_running_stats,
    }


def _group_norm(m: nn.GroupNorm) -> dict[str, Any]:
    return {"num_groups": m.num_groups, "eps": m.eps, "affine": m.affine}


def _layer_norm(m: nn.LayerNorm) -> dict[str, Any]:
    return {
        "dims": len(m.normalized_shape),
        "eps": m.eps,
        "elementwise_affine": m.elementwise_affine,
        "bias": m.bias is not None or not m.elementwise_affine,
    }


def _max_pool(m: nn.Module) -> dict[str, Any]:
    if m.return_indices:
        raise Unsupported("return_indices=True (no block returns the indices)")
    return {**_window(m), "dilation": m.dilation}


def _avg_pool(m: nn.Module) -> dict[str, Any]:
    if getattr(m, "divisor_override", None) is not None:
        raise Unsupported("divisor_override (no block parameter for it)")
    return {**_window(m), "count_include_pad": m.count_include_pad}


def _window(m: nn.Module) -> dict[str, Any]:
    stride = None if m.stride in (None, m.kernel_size) else m.stride
    return {
        "kernel_size": m.kernel_size,
        "stride": stride,
        "padding": m.padding,
        "ceil_mode": m.ceil_mode,
    }


def _adaptive(m: nn.Module) -> dict[str, Any]:
    size = m.output_size
    if size is None or (isinstance(size, tuple) and None in size):
        raise Unsupported("an output_size that keeps an input size (None)")
    if getattr(m, "return_indices", False):
        raise Unsupported("return_indices=True (no block returns the indices)")
    return {"output_size": size}


def _upsample(m: nn.Upsample) -> dict[str, Any]:
    return upsample_params(m.size, m.scale_factor, m.mode, m.align_corners)


def upsample_params(size, scale_factor, mode, align_corners) -> dict[str, Any]:
    """Upsample's parameters; one scale factor for every axis."""
    if isinstance(scale_factor, (tuple, list)):
        if len(set(scale_factor)) != 1:
            raise Unsupported(f"different scale factors per axis {tuple(scale_factor)}")
        scale_factor = scale_factor[0]
    return {
        "size": size,
        "scale_factor": None if size is not None else float(scale_factor),
        "mode": mode,
        "align_corners": bool(align_corners),
    }


def _softmax(m: nn.Module) -> dict[str, Any]:
    if m.dim is None:
        raise Unsupported("dim=None (torch's legacy implicit dimension); give dim")
    return {"dim": m.dim}


def _none(m: nn.Module) -> dict[str, Any]:
    return {}


def _embedding(m: nn.Embedding) -> dict[str, Any]:
    for name, off in (("max_norm", m.max_norm is not None), ("sparse", m.sparse)):
        if off:
            raise Unsupported(f"{name}={getattr(m, name)!r} (the Embedding block has no {name})")
    if m.scale_grad_by_freq:
        raise Unsupported("scale_grad_by_freq=True (the Embedding block has no such parameter)")
    return {
        "num_embeddings": m.num_embeddings,
        "embedding_dim": m.embedding_dim,
        "padding_idx": m.padding_idx,
    }


def recurrent_params(m: nn.RNNBase) -> dict[str, Any]:
    params = {
        "hidden_size": m.hidden_size,
        "num_layers": m.num_layers,
        "bias": m.bias,
        "batch_first": m.batch_first,
        "dropout": float(m.dropout),
        "bidirectional": m.bidirectional,
    }
    if isinstance(m, nn.LSTM):
        params["proj_size"] = m.proj_size
    if isinstance(m, nn.RNN):
        params["nonlinearity"] = m.nonlinearity
    return params


def _batch_first(m: nn.Module, attention: nn.MultiheadAttention) -> None:
    if not attention.batch_first:
        raise Unsupported(
            f"batch_first=False: the {type(m).__name__} block takes batch-first N×L×E "
            "sequences; construct the layer with batch_first=True"
        )


def _attention(m: nn.MultiheadAttention) -> dict[str, Any]:
    _batch_first(m, m)
    if m.bias_k is not None or m.add_zero_attn:
        raise Unsupported("add_bias_kv or add_zero_attn (the block has neither)")
    return {"num_heads": m.num_heads, "dropout": m.dropout, "bias": m.in_proj_bias is not None}


def _activation_name(activation: Any) -> str | None:
    """``relu`` or ``gelu`` for a Transformer layer's activation, None for another."""
    if activation is F.relu or isinstance(activation, nn.ReLU):
        return "relu"
    exact = isinstance(activation, nn.GELU) and activation.approximate == "none"
    return "gelu" if activation is F.gelu or exact else None


def transformer_params(m: nn.Module) -> dict[str, Any]:
    _batch_first(m, m.self_attn)
    activation = _activation_name(m.activation)
    if activation is None:
        raise Unsupported("an activation other than relu or gelu (the block has those two)")
    return {
        "nhead": m.self_attn.num_heads,
        "dim_feedforward": m.linear1.out_features,
        "dropout": m.dropout.p,
        "activation": activation,
        "layer_norm_eps": m.norm1.eps,
        "norm_first": m.norm_first,
        "bias": m.linear1.bias is not None,
    }


def _rms_norm(m: nn.RMSNorm) -> dict[str, Any]:
    return {
        "dims": len(m.normalized_shape),
        "eps": m.eps,
        "elementwise_affine": m.elementwise_affine,
    }


Reader = Callable[[nn.Module], dict[str, Any]]

LAYERS: dict[type, tuple[str, Reader]] = {
    nn.Linear: ("Linear", lambda m: {"out_features": m.out_features, "bias": m.bias is not None}),
    nn.Flatten: ("Flatten", lambda m: {"start_dim": m.start_dim, "end_dim": m.end_dim}),
    nn.Identity: ("Identity", _none),
    nn.Dropout: ("Dropout", lambda m: {"p": m.p}),
    nn.GroupNorm: ("GroupNorm", _group_norm),
    nn.LayerNorm: ("LayerNorm", _layer_norm),
    nn.Upsample: ("Upsample", _upsample),
    nn.LeakyReLU: ("LeakyReLU", lambda m: {"negative_slope": m.negative_slope}),
    nn.ELU: ("ELU", lambda m: {"alpha": m.alpha}),
    nn.GELU: ("GELU", lambda m: {"approximate": m.approximate}),
    nn.Softmax: ("Softmax", _softmax),
    nn.LogSoftmax: ("LogSoftmax", _softmax),
    nn.AdaptiveMaxPool2d: ("AdaptiveMaxPool2d", _adaptive),
    nn.Embedding: ("Embedding", _embedding),
    nn.LSTM: ("LSTM", recurrent_params),
    nn.GRU: ("GRU", recurrent_params),
    nn.RNN: ("RNN", recurrent_params),
    nn.MultiheadAttention: ("MultiheadAttention", _attention),
    nn.TransformerEncoderLayer: ("TransformerEncoderLayer", transformer_params),
    nn.TransformerDecoderLayer: ("TransformerDecoderLayer", transformer_params),
    nn.RMSNorm: ("RMSNorm", _rms_norm),
    nn.Softplus: ("Softplus", lambda m: {"beta": m.beta, "threshold": m.threshold}),
    nn.PReLU: ("PReLU", lambda m: {"num_parameters": m.num_parameters}),
    nn.PixelShuffle: ("PixelShuffle", lambda m: {"upscale_factor": m.upscale_factor}),
    nn.PixelUnshuffle: ("PixelUnshuffle", lambda m: {"downscale_factor": m.downscale_factor}),
    nn.ChannelShuffle: ("ChannelShuffle", lambda m: {"groups": m.groups}),
}
for _cls in (
    nn.ReLU,
    nn.ReLU6,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Sigmoid,
    nn.Tanh,
):
    LAYERS[_cls] = (_cls.__name__, _none)
for _n in (1, 2, 3):
    for _cls, _reader in (
        (getattr(nn, f"Conv{_n}d"), _conv),
        (getattr(nn, f"ConvTranspose{_n}d"), _conv_transpose),
        (getattr(nn, f"BatchNorm{_n}d"), _norm),
        (getattr(nn, f"InstanceNorm{_n}d"), _norm),
        (getattr(nn, f"MaxPool{_n}d"), _max_pool),
        (getattr(nn, f"AvgPool{_n}d"), _avg_pool),
        (getattr(nn, f"AdaptiveAvgPool{_n}d"), _adaptive),
        (getattr(nn, f"Dropout{_n}d"), lambda m: {"p": m.p}),
    ):
        LAYERS[_cls] = (_cls.__name__, _reader)


def map_layer(module: nn.Module) -> tuple[str, dict[str, Any]]:
    """The block type and raw parameters of a layer; :class:`Unsupported` when it has none."""
    entry = LAYERS.get(type(module))
    if entry is None:
        raise Unsupported("no block in the vocabulary computes this layer")
    block, read = entry
    return block, read(module)


def layer_name(module: nn.Module) -> str:
    cls = type(module)
    prefix = "nn." if cls.__module__.startswith("torch.nn") else f"{cls.__module__}."
    return prefix + cls.__name__
