"""How a layer's call becomes a block's wiring: which traced values feed which input ports, and
what the tuple it returns holds (``out, (h, c) = self.lstm(x)``: the LSTM block's ports
``out``, ``h`` and ``c``).

Most layers take one tensor and return one. Recurrent layers take an optional initial state and
return their final one; attention and Transformer layers take masks by keyword; a self-attention
call (``attn(x, x, x)``) leaves key and value unwired, as the block reads them from the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import fx, nn

from designer.interop.importer.modules import Unsupported


@dataclass
class Call:
    """A layer call as the block sees it: inputs with their ports, and the output tree."""

    inputs: list[fx.Node]
    ports: tuple[str, ...] | None = None
    outputs: Any = "out"
    missing: str = ""


def bound_args(node: fx.Node, names: tuple[str, ...]) -> dict[str, Any]:
    bound = dict(zip(names, node.args, strict=False))
    extra = set(node.kwargs) - set(names)
    if len(node.args) > len(names) or extra:
        raise Unsupported(f"called with arguments the block has no port for: {sorted(extra)}")
    bound.update(node.kwargs)
    return bound


def wired(ctx, bound: dict[str, Any], ports: tuple[str, ...]) -> Call:
    """The tensors among ``bound`` on the ports of the same name (None values stay unwired)."""
    inputs, names = [], []
    for port in ports:
        value = bound.get(port)
        if value is None:
            continue
        inputs += ctx.tensors([value])
        names.append(port)
    return Call(inputs, tuple(names))


def _one(node: fx.Node, ctx) -> Call:
    if node.kwargs:
        raise Unsupported("called with keyword arguments")
    return Call(ctx.tensors(node.args, 1))


def _recurrent(node: fx.Node, ctx, module: nn.RNNBase) -> Call:
    lstm = isinstance(module, nn.LSTM)
    bound = bound_args(node, ("input", "hx"))
    state = bound.get("hx")
    if lstm and state is not None and not isinstance(state, (tuple, list)):
        raise Unsupported("its state is one value; pass (h0, c0) written out in the call")
    h0, c0 = state if lstm and state is not None else (state, None)
    call = wired(ctx, {"input": bound["input"], "h0": h0, "c0": c0}, ("input", "h0", "c0"))
    call.outputs = ("out", ("h", "c")) if lstm else ("out", "h")
    return call


_MHA = (
    "query",
    "key",
    "value",
    "key_padding_mask",
    "need_weights",
    "attn_mask",
    "average_attn_weights",
    "is_causal",
)


def _attention(node: fx.Node, ctx, module: nn.Module) -> Call:
    bound = bound_args(node, _MHA)
    query, key, value = bound["query"], bound.get("key"), bound.get("value")
    if value is key:
        value = None  # the block's value defaults to its key
    if key is query and value is None:
        key = None  # self-attention: key and value default to the query
    bound.update(key=key, value=value)
    call = wired(ctx, bound, ("query", "key", "value", "key_padding_mask", "attn_mask"))
    call.outputs = ("out", None)
    call.missing = (
        "the MultiheadAttention block returns no attention weights; use only the first output"
    )
    return call


_ENCODER = ("src", "src_mask", "src_key_padding_mask", "is_causal")
_DECODER = (
    "tgt",
    "memory",
    "tgt_mask",
    "memory_mask",
    "tgt_key_padding_mask",
    "memory_key_padding_mask",
    "tgt_is_causal",
    "memory_is_causal",
)


def _encoder(node: fx.Node, ctx, module: nn.Module) -> Call:
    return wired(ctx, bound_args(node, _ENCODER), _ENCODER[:3])


def _decoder(node: fx.Node, ctx, module: nn.Module) -> Call:
    return wired(ctx, bound_args(node, _DECODER), _DECODER[:6])


_BINDERS = {
    nn.LSTM: _recurrent,
    nn.GRU: _recurrent,
    nn.RNN: _recurrent,
    nn.MultiheadAttention: _attention,
    nn.TransformerEncoderLayer: _encoder,
    nn.TransformerDecoderLayer: _decoder,
}


def bind_layer(module: nn.Module, node: fx.Node, ctx) -> Call:
    """The wiring of one call of ``module`` (a mapped layer); Unsupported when it has none."""
    binder = _BINDERS.get(type(module))
    return _one(node, ctx) if binder is None else binder(node, ctx, module)
