"""Attention: MultiheadAttention, ScaledDotProductAttention, Transformer encoder/decoder layers.

Sequences are batch-first, N×L×E. Masks are bool (True: masked) or of the query's dtype (added to
the scores): key padding N×S, attention L×S or (N·heads)×L×S; two that torch combines are of one
kind (it deprecated mixing them). MACs per sample: projections L·E² (queries, outputs), S·E·kdim
and S·E·vdim (keys, values), 2·L·S·E for scores and their weighted sum, 2·L·E·F for a Transformer
layer's feed-forward; a size that varies counts once.
"""

from __future__ import annotations

from math import prod

from designer.core.forms import Functional, TorchModule, keywords
from designer.core.params import MAX_SIZE, Bool, Choice, Float, Int
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError
from designer.core.tensor import FLOATING, INTEGER, TensorSpec, format_spec

MHA, SDPA = "MultiheadAttention", "ScaledDotProductAttention"
ENCODER, DECODER = "TransformerEncoderLayer", "TransformerDecoderLayer"


def _n(size) -> int:
    """A size in a MAC count: a symbolic one counts once."""
    return size if isinstance(size, int) else 1


def _floating(block: str, spec: TensorSpec, port: int, name: str, dtype: str | None) -> None:
    """A data input must be floating, of ``dtype`` (the first input's) when given."""
    if spec.dtype not in FLOATING:
        raise ShapeError(
            f"{block} takes a floating-point {name}, got {spec.dtype} ({format_spec(spec)})",
            "wire token ids through an Embedding first (it turns each id into a float vector)"
            if spec.dtype in INTEGER
            else "convert it to float32 first",
            port,
            "dtype",
        )
    if dtype is not None and spec.dtype != dtype:
        message = f"{block}'s {name} is {spec.dtype}, the first input {dtype}"
        raise ShapeError(message, f"give {name} the dtype {dtype}", port, "dtype")


def _sequence(block: str, spec: TensorSpec, port: int, name: str, dtype=None) -> tuple:
    """The dims (batch, length, features) of a batch-first sequence input."""
    _floating(block, spec, port, name, dtype)
    if spec.rank != 3:
        unbatched = ": torch would attend across samples" if spec.rank == 2 else ""
        raise ShapeError(
            f"{block} takes {name} as N×L×E (batch, length, features), got {spec.rank}-D "
            f"{format_spec(spec)}{unbatched}",
            "give the Input an [L, E] shape (the batch N comes first)"
            if spec.rank == 2
            else "reshape it into a sequence of feature vectors first",
            port,
            "rank",
        )
    if spec.shape[-1] is None:
        message = f"{block} needs a fixed feature size in the last dimension of {name}"
        raise ShapeError(message, "fix the feature size in the Input's shape", port, "symbolic")
    return spec.dims


def _heads(block: str, width: int, heads: int, name: str) -> None:
    if width % heads:
        fits = [h for h in range(1, min(width, 16) + 1) if width % h == 0]
        raise ShapeError(
            f"{block} splits {width} features into {heads} heads, which does not divide them",
            f"set {name} to a divisor of {width} (such as {', '.join(map(str, fits))})",
            0,
            "channels",
        )


def _like(block: str, spec: TensorSpec, port: int, name: str, want: tuple, hint: str) -> None:
    """``spec`` must have the dims ``want`` (sizes and symbols)."""
    if spec.dims != tuple(want):
        message = f"{block}'s {name} is {format_spec(spec)}, it must be {'×'.join(map(str, want))}"
        raise ShapeError(message, hint, port, "rank" if spec.rank != len(want) else "mismatch")


def _mask_dtype(block: str, spec: TensorSpec, port: int, name: str, dtype: str) -> None:
    if spec.dtype not in ("bool", dtype):
        message = f"{block}'s {name} is {spec.dtype}: a mask is bool (True: masked) or {dtype}"
        raise ShapeError(message, f"feed a bool or {dtype} mask", port, "dtype")


def _padding(block: str, spec, port: int, name: str, batch, length, dtype: str) -> None:
    """A key padding mask: N×S."""
    if spec is not None:
        _mask_dtype(block, spec, port, name, dtype)
        hint = f"a key padding mask is N×S: one row per sample, one entry per key ({length})"
        _like(block, spec, port, name, (batch, length), hint)


def _attn_mask(block: str, spec, port: int, name: str, batch, heads, rows, cols, dtype) -> None:
    """An attention mask: L×S, or (N·heads)×L×S."""
    if spec is None:
        return
    _mask_dtype(block, spec, port, name, dtype)
    want, hint = (rows, cols), f"give an L×S mask: {rows}×{cols}"
    if spec.rank == 3:
        per_head = batch if heads == 1 else batch * heads if isinstance(batch, int) else None
        want = (per_head or f"{batch}·{heads}", rows, cols)
        hint = f"use a 2-D {rows}×{cols} mask shared by all (per sample: key_padding_mask)"
    _like(block, spec, port, name, want, hint)


def _one_kind(block: str, *masks: tuple) -> None:
    """Masks torch combines, given as (port, name, spec), are both bool or both float."""
    given = [m for m in masks if m[2] is not None]
    if len(given) == 2 and (given[0][2].dtype == "bool") != (given[1][2].dtype == "bool"):
        (_, first, a), (port, second, b) = given
        message = f"{block}'s {first} is {a.dtype}, its {second} {b.dtype}: torch deprecated that"
        raise ShapeError(message, "give both masks the same dtype", port, "dtype")


# -- MultiheadAttention --------------------------------------------------------------------------


def _mha_rule(p, specs):
    query, key, value, padding, mask = specs
    batch, length, embed = _sequence(MHA, query, 0, "query")
    _heads(MHA, embed, p["num_heads"], "num_heads")
    keys = query if key is None else key
    _, source, _ = _sequence(MHA, keys, 1, "key", query.dtype)
    _like(MHA, keys, 1, "key", (batch, source, keys.dims[2]), "give key the query's batch")
    if value is not None:
        _sequence(MHA, value, 2, "value", query.dtype)
        hint = "give value one entry per key: the batch and length of key"
        _like(MHA, value, 2, "value", (batch, source, value.dims[2]), hint)
    _padding(MHA, padding, 3, "key_padding_mask", batch, source, query.dtype)
    _attn_mask(MHA, mask, 4, "attn_mask", batch, p["num_heads"], length, source, query.dtype)
    _one_kind(MHA, (3, "key_padding_mask", padding), (4, "attn_mask", mask))
    if p["causal"] and length != source:
        message = f"{MHA} is causal, which needs queries and keys of one length: {length}, {source}"
        hint = "turn causal off (cross-attention), or wire a key of the query's length"
        raise ShapeError(message, hint, 1, "mismatch")
    return query


def _widths(shapes) -> tuple[int, int, int]:
    """embed_dim, kdim and vdim: unwired, key is the query and value the key."""
    embed = shapes[0][-1]
    kdim = embed if shapes[1] is None else shapes[1][-1]
    return embed, kdim, kdim if shapes[2] is None else shapes[2][-1]


def _mha_count(p, shapes) -> int:
    embed, kdim, vdim = _widths(shapes)
    return embed * (2 * embed + kdim + vdim) + (4 * embed if p["bias"] else 0)


def _attention_macs(length, source, embed, kdim, vdim) -> int:
    length, source = _n(length), _n(source)
    return embed * (2 * length * embed + source * (kdim + vdim) + 2 * length * source)


def _mha_macs(p, ins, outs) -> int:
    keys = ins[0] if ins[1] is None else ins[1]
    return _attention_macs(ins[0][1], keys[1], *_widths(ins))


def _mha_args(p, shapes):
    embed, kdim, vdim = _widths(shapes)
    kw = keywords(p, {"dropout": 0.0, "bias": True, "causal": False})
    if (kdim, vdim) != (embed, embed):
        kw.update(kdim=kdim, vdim=vdim)
    return (embed, p["num_heads"]), kw


_CAUSAL = Bool("causal", False, "Each position attends only to itself and earlier ones.")

register(
    BlockSpec(
        name=MHA,
        category="Attention",
        doc="Multi-head attention over N×L×E sequences (self-attention unless key/value wired).",
        params=(
            Int("num_heads", 8, "Parallel heads; they split embed_dim.", min=1, max=4096),
            Float("dropout", 0.0, "Dropout on attention weights while training.", 0.0, 1.0),
            Bool("bias", True, "Learn biases in the input and output projections."),
            _CAUSAL,
        ),
        inputs=("query", "key", "value", "key_padding_mask", "attn_mask"),
        optional_inputs=("key", "value", "key_padding_mask", "attn_mask"),
        tensor_rule=_mha_rule,
        count=_mha_count,
        macs=_mha_macs,
        torch=TorchModule("Attention", _mha_args, layer=True),
    )
)


# -- ScaledDotProductAttention -------------------------------------------------------------------

_QKV = ("query", "key", "value")


def _broadcast(pieces) -> tuple:
    """Broadcast dims given as (port, name, dims); the batch lines up with itself or 1 only."""
    out: list = [1] * max(len(dims) for _, _, dims in pieces)
    for port, name, dims in pieces:
        for axis in range(len(out) - len(dims), len(out)):
            have, size = out[axis], dims[axis - len(out) + len(dims)]
            if size in (have, 1):
                continue
            if have != 1:
                message = f"{SDPA}'s {name} is {size} in dimension {axis}, the inputs before {have}"
                hint = "give query, key, value (and the mask) batch dimensions that match or are 1"
                raise ShapeError(message, hint, port, "mismatch")
            out[axis] = size
    return tuple(out)


def _sdpa_input(spec: TensorSpec, port: int, dtype: str) -> tuple:
    name = _QKV[port]
    _floating(SDPA, spec, port, name, dtype)
    if spec.rank < 3 and (spec.rank < 2 or spec.shape[0] is None):
        raise ShapeError(
            f"{SDPA} reads the last two dimensions of {name} as length × features, and "
            f"{format_spec(spec)} has the batch there: attention would run across samples",
            "give it a length dimension: an [L, E] Input makes it N×L×E",
            port,
            "rank",
        )
    return spec.dims


def _sdpa_rule(p, specs):
    query, *_, mask = specs
    q, k, v = (_sdpa_input(s, i, query.dtype) for i, s in enumerate(specs[:3]))
    if k[-1] != q[-1]:
        hint = f"give query and key the same feature size ({q[-1]})"
        raise ShapeError(f"{SDPA}'s key has {k[-1]} features, query {q[-1]}", hint, 1, "mismatch")
    if v[-2] != k[-2]:
        hint = f"give value one entry per key ({k[-2]})"
        raise ShapeError(f"{SDPA}'s value is {v[-2]} long, key {k[-2]}", hint, 2, "mismatch")
    batch = _broadcast([(i, _QKV[i], dims[:-2]) for i, dims in enumerate((q, k, v))])
    scores = (*batch, q[-2], k[-2])
    if mask is not None:
        _mask_dtype(SDPA, mask, 3, "attn_mask", query.dtype)
        if _broadcast([(0, "scores", scores), (3, "attn_mask", mask.dims)]) != scores:
            shape = "×".join(map(str, scores))
            hint = "give a mask of the scores' shape, or one that broadcasts to it (L×S)"
            message = f"{SDPA}'s attn_mask is larger than the scores ({shape})"
            raise ShapeError(message, hint, 3, "mismatch")
        if p["is_causal"]:
            message = f"{SDPA} takes either is_causal or an attn_mask, not both (torch refuses it)"
            hint = "turn is_causal off and mask later positions in attn_mask, or unwire attn_mask"
            raise ShapeError(message, hint, 3, "param")
    if p["dropout_p"]:
        message = f"{SDPA} with dropout_p={p['dropout_p']:g} drops in evaluation too"
        hint = "set dropout_p to 0; MultiheadAttention's dropout acts while training only"
        raise ShapeError(message, hint, None, "param")
    return TensorSpec.of((*batch, q[-2], v[-1]), query.dtype)


def _sdpa_onnx(p, shapes):
    """torch's ONNX exporter (onnxscript) writes the function for 4-D inputs only."""
    if any(len(shape) != 4 for shape in shapes[:3]):
        return "torch's ONNX exporter writes it for 4-D query, key and value only", (
            "give them an N×heads×L×E layout (one head: an Input of [1, L, E])"
        )
    return None


def _sdpa_macs(p, ins, outs) -> int:
    (*batch, length, width), source = outs[0], ins[1][-2]
    return prod(_n(d) for d in batch[1:]) * _n(length) * _n(source) * (ins[0][-1] + width)


register(
    BlockSpec(
        name=SDPA,
        category="Attention",
        doc="softmax(Q·Kᵀ·scale + mask)·V over (…, L, E), (…, S, E), (…, S, Ev); no weights.",
        params=(
            Float("dropout_p", 0.0, "Must stay 0: the function drops in evaluation too.", 0.0, 1.0),
            Bool("is_causal", False, "Each query attends only to keys up to its own position."),
            Float("scale", None, "Factor on the scores; none: 1/√E.", optional=True),
        ),
        inputs=("query", "key", "value", "attn_mask"),
        optional_inputs=("attn_mask",),
        tensor_rule=_sdpa_rule,
        macs=_sdpa_macs,
        onnx=_sdpa_onnx,
        functional=Functional(
            "torch.nn.functional.scaled_dot_product_attention",
            keywords=("dropout_p", "is_causal", "scale"),
        ),
    )
)


# -- Transformer layers --------------------------------------------------------------------------


def _encoder_rule(p, specs):
    src, mask, padding = specs
    batch, length, width = _sequence(ENCODER, src, 0, "src")
    _heads(ENCODER, width, p["nhead"], "nhead")
    _attn_mask(ENCODER, mask, 1, "src_mask", batch, p["nhead"], length, length, src.dtype)
    _padding(ENCODER, padding, 2, "src_key_padding_mask", batch, length, src.dtype)
    _one_kind(ENCODER, (1, "src_mask", mask), (2, "src_key_padding_mask", padding))
    return src


def _decoder_rule(p, specs):
    tgt, memory, tgt_mask, memory_mask, tgt_padding, memory_padding = specs
    batch, length, width = _sequence(DECODER, tgt, 0, "tgt")
    _heads(DECODER, width, p["nhead"], "nhead")
    _, source, _ = _sequence(DECODER, memory, 1, "memory", tgt.dtype)
    hint = f"give memory the target's batch and {width} features (a Linear projects it)"
    _like(DECODER, memory, 1, "memory", (batch, source, width), hint)
    heads, dtype = p["nhead"], tgt.dtype
    _attn_mask(DECODER, tgt_mask, 2, "tgt_mask", batch, heads, length, length, dtype)
    _attn_mask(DECODER, memory_mask, 3, "memory_mask", batch, heads, length, source, dtype)
    _padding(DECODER, tgt_padding, 4, "tgt_key_padding_mask", batch, length, dtype)
    _padding(DECODER, memory_padding, 5, "memory_key_padding_mask", batch, source, dtype)
    _one_kind(DECODER, (2, "tgt_mask", tgt_mask), (4, "tgt_key_padding_mask", tgt_padding))
    _one_kind(
        DECODER, (3, "memory_mask", memory_mask), (5, "memory_key_padding_mask", memory_padding)
    )
    return tgt


def _layer_count(attentions: int):
    """Parameters of a Transformer layer: its attentions, feed-forward and layer norms."""

    def count(p, shapes) -> int:
        width, hidden = shapes[0][-1], p["dim_feedforward"]
        weights = attentions * 4 * width * width + 2 * width * hidden + (attentions + 1) * width
        biases = attentions * 4 * width + hidden + width + (attentions + 1) * width
        return weights + (biases if p["bias"] else 0)

    return count


def _encoder_macs(p, ins, outs) -> int:
    (_, length, width), hidden = ins[0], p["dim_feedforward"]
    return _attention_macs(length, length, width, width, width) + 2 * _n(length) * width * hidden


def _decoder_macs(p, ins, outs) -> int:
    (_, length, width), source = ins[0], ins[1][1]
    cross = _attention_macs(length, source, width, width, width)
    return _encoder_macs(p, ins, outs) + cross


_LAYER_PARAMS = (
    Int("nhead", 8, "Attention heads; they split d_model.", min=1, max=4096),
    Int("dim_feedforward", 2048, "Width of the feed-forward's hidden layer.", min=1, max=MAX_SIZE),
    Float("dropout", 0.1, "Dropout while training.", min=0.0, max=1.0),
    Choice("activation", "relu", "The feed-forward's activation.", ("relu", "gelu")),
    Float("layer_norm_eps", 1e-5, "Added to the variance in the layer norms.", min=0.0, max=1.0),
    Bool("norm_first", False, "Normalise before attention and feed-forward (pre-LN)."),
    Bool("bias", True, "Learn biases in the linear layers and layer norms."),
    _CAUSAL,
)
_LAYER_DEFAULTS = {p.name: p.default for p in _LAYER_PARAMS[1:]}  # torch's (and causal off)


_DECODER_MASKS = ("tgt_mask", "memory_mask", "tgt_key_padding_mask", "memory_key_padding_mask")


def _layer_args(p, shapes):
    return (shapes[0][-1], p["nhead"]), keywords(p, _LAYER_DEFAULTS)


register(
    BlockSpec(
        name=ENCODER,
        category="Attention",
        doc="torch's Transformer encoder layer on N×L×E (d_model is inferred): attention, MLP.",
        params=_LAYER_PARAMS,
        inputs=("src", "src_mask", "src_key_padding_mask"),
        optional_inputs=("src_mask", "src_key_padding_mask"),
        tensor_rule=_encoder_rule,
        count=_layer_count(1),
        macs=_encoder_macs,
        torch=TorchModule("EncoderLayer", _layer_args, layer=True),
    )
)
register(
    BlockSpec(
        name=DECODER,
        category="Attention",
        doc="torch's Transformer decoder layer: self-attention, attention to memory (N×S×E), MLP.",
        params=_LAYER_PARAMS,
        inputs=("tgt", "memory", *_DECODER_MASKS),
        optional_inputs=_DECODER_MASKS,
        tensor_rule=_decoder_rule,
        count=_layer_count(2),
        macs=_decoder_macs,
        torch=TorchModule("DecoderLayer", _layer_args, layer=True),
    )
)
