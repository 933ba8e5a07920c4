"""Embeddings and learnable tensors: Embedding (token ids to vectors), Parameter (a class token,
a positional embedding), ExpandBatch (a class token repeated over the batch), and the two halves
of a tied language-model head: EmbeddingLookup and TiedLinear read one Parameter's weight."""

from __future__ import annotations

from math import prod

from designer.core.forms import Functional, TorchModule, keywords
from designer.core.params import MAX_SIZE, Choice, Float, Int, Param
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError, format_shape
from designer.core.tensor import DTYPES, FLOATING, INTEGER, format_spec

INITS = ("zeros", "normal", "trunc_normal", "ones", "uniform")


def _embedding_shape(p, shapes):
    """Token ids of any shape -> the same shape with the embedding as a last dimension."""
    n, pad = p["num_embeddings"], p["padding_idx"]
    if pad is not None and not -n <= pad < n:
        raise ShapeError(
            f"padding_idx={pad} is out of range for {n} embeddings",
            f"choose padding_idx between {-n} and {n - 1}, or leave it unset",
            code="param",
        )
    return (*shapes[0], p["embedding_dim"])


def _embedding_spec(p, specs):
    """The shape rule, on integer ids only; the vectors are float32."""
    (ids,) = specs
    if ids.dtype not in INTEGER:
        raise ShapeError(
            f"Embedding takes integer token ids, input 1 is {ids.dtype} ({format_spec(ids)})",
            "set the Input's dtype to int64 (token ids), or use Linear for float features",
            0,
            "dtype",
        )
    return ids.with_shape(_embedding_shape(p, [ids.shape])).with_dtype("float32")


def _parameter_shape(p, shapes):
    """The declared sizes, all fixed: a learnable tensor has no batch of its own."""
    sizes = p["shape"]
    if any(isinstance(d, str) for d in sizes):
        raise ShapeError(
            f"a Parameter's sizes are fixed, got {', '.join(map(str, sizes))}",
            "give numbers only, such as 1, 1, 64: a size of 1 in dimension 0 broadcasts "
            "against the batch",
            code="param",
        )
    if p["init"] == "trunc_normal" and p["std"] == 0:
        raise ShapeError(
            "trunc_normal needs a positive std (torch divides by it)",
            "give std a positive value such as 0.02, or pick init zeros",
            code="param",
        )
    return tuple(sizes)


def _expand_batch_shape(p, shapes):
    """x (1, ...) -> (like's dimension 0, ...)."""
    x, like = shapes
    if not like:
        raise ShapeError(
            "ExpandBatch reads the batch from dimension 0 of like, which is a scalar",
            "wire a batched tensor into like",
            port=1,
            code="rank",
        )
    if not x or x[0] != 1:
        got = format_shape(x) if x else "a scalar"
        raise ShapeError(
            f"ExpandBatch repeats an x of size 1 in dimension 0, got {got}",
            "feed a Parameter of shape 1, ... (a class token); an x batched already needs no "
            "ExpandBatch",
            port=0,
            code="mismatch",
        )
    return (like[0], *x[1:])


def _weight(block: str, weight, port: int, rank: int = 2):
    """A wired-in weight: floating, of ``rank`` fixed sizes (a Parameter's)."""
    if weight.dtype not in FLOATING:
        raise ShapeError(
            f"{block}'s weight is {weight.dtype} ({format_spec(weight)})",
            "wire a Parameter (floating-point) into weight",
            port,
            "dtype",
        )
    if weight.rank != rank or None in weight.shape:
        raise ShapeError(
            f"{block} needs a {rank}-D weight of fixed sizes, got {format_spec(weight)}",
            "wire a Parameter of shape rows, columns (no batch) into weight",
            port,
            "rank",
        )
    return weight.shape


def _lookup_spec(p, specs):
    """ids (any shape, integer) and weight (V, D) -> ids' shape + (D,)."""
    ids, weight = specs
    if ids.dtype not in INTEGER:
        raise ShapeError(
            f"EmbeddingLookup takes integer token ids, input 1 is {ids.dtype} ({format_spec(ids)})",
            "set the Input's dtype to int64 (token ids)",
            0,
            "dtype",
        )
    _, width = _weight("EmbeddingLookup", weight, 1)
    return ids.with_shape((*ids.shape, width)).with_dtype(weight.dtype)


def _tied_linear_spec(p, specs):
    """input (..., F), weight (O, F), bias (O,) -> (..., O)."""
    x, weight, bias = specs
    if x.dtype not in FLOATING or x.rank < 1:
        raise ShapeError(
            f"TiedLinear takes floating-point features, input 1 is {format_spec(x)}",
            "feed it the features (float32) to project",
            0,
            "dtype",
        )
    rows, columns = _weight("TiedLinear", weight, 1)
    if x.shape[-1] != columns:
        raise ShapeError(
            f"the weight is {rows}×{columns}, so the input needs {columns} features in its last "
            f"dimension, not {x.shape[-1]}",
            "wire the weight whose columns match the features (an embedding's width)",
            0,
            "mismatch",
        )
    if bias is not None and (_weight("TiedLinear", bias, 2, rank=1) != (rows,)):
        raise ShapeError(
            f"the bias must have {rows} entries (one per output), got {format_spec(bias)}",
            f"wire a Parameter of shape {rows}",
            2,
            "mismatch",
        )
    return x.with_shape((*x.shape[:-1], rows))


register(
    BlockSpec(
        name="Embedding",
        category="Embedding",
        doc="Look up a learned vector per integer token id: N×T ids -> N×T×embedding_dim.",
        params=(
            Int(
                "num_embeddings", 1000, "Vocabulary size: ids run from 0 to this - 1.", 1, MAX_SIZE
            ),
            Int("embedding_dim", 128, "Size of each vector.", 1, MAX_SIZE),
            Int(
                "padding_idx",
                None,
                "An id whose vector stays zero and gets no gradient (none by default).",
                -MAX_SIZE,
                MAX_SIZE,
                optional=True,
            ),
        ),
        shape=_embedding_shape,
        tensor_rule=_embedding_spec,
        count=lambda p, s: p["num_embeddings"] * p["embedding_dim"],
        torch=TorchModule(
            "Embedding",
            lambda p, s: (
                (p["num_embeddings"], p["embedding_dim"]),
                keywords(p, {"padding_idx": None}),
            ),
        ),
    )
)
register(
    BlockSpec(
        name="Parameter",
        category="Embedding",
        doc="A learnable tensor of a fixed shape, no inputs: a class token (1, 1, D), a "
        "positional embedding (1, T, D).",
        params=(
            Param("shape", "shape", (1, 1, 64), "Its sizes; dimension 0 is normally 1."),
            Choice("init", "trunc_normal", "How its values start.", INITS),
            Float("std", 0.02, "Standard deviation for normal and trunc_normal.", 0.0, 1e3),
        ),
        inputs=(),
        shape=_parameter_shape,
        count=lambda p, s: prod(p["shape"]),
        torch=TorchModule(
            "LearnedTensor",
            lambda p, s: ((p["shape"],), keywords(p, {"init": "trunc_normal", "std": 0.02})),
            layer=True,
        ),
    )
)
register(
    BlockSpec(
        name="ExpandBatch",
        category="Embedding",
        doc="Repeat x, of size 1 in dimension 0 (a class token), to the batch size of `like`.",
        inputs=("x", "like"),
        shape=_expand_batch_shape,
        dtypes=DTYPES,  # a view: any element type
        torch=TorchModule("ExpandBatch", lambda p, s: ((), {}), layer=True),
    )
)
register(
    BlockSpec(
        name="EmbeddingLookup",
        category="Embedding",
        doc="Rows of a weight wired in (a Parameter V×D) per token id: an embedding whose table "
        "a TiedLinear head shares.",
        inputs=("input", "weight"),
        tensor_rule=_lookup_spec,
        functional=Functional("torch.nn.functional.embedding"),
    )
)
register(
    BlockSpec(
        name="TiedLinear",
        category="Embedding",
        doc="A linear layer whose weight (O×F) is wired in: a language-model head tied to the "
        "token embedding's Parameter.",
        inputs=("input", "weight", "bias"),
        optional_inputs=("bias",),
        tensor_rule=_tied_linear_spec,
        macs=lambda p, ins, outs: prod(outs[0][1:]) * ins[0][-1],
        functional=Functional("torch.nn.functional.linear"),
    )
)
