"""Embeddings and learned tensors: ``Gather`` of rows of a constant table by integer ids ->
Embedding, or EmbeddingLookup of a Parameter when other nodes read the table too (a head tied
to it is a TiedLinear, see ``linear``); a constant tensor added to or concatenated with a
computed one (a positional embedding, a class token) -> a Parameter holding it, repeated over
the batch by ExpandBatch where it is concatenated."""

from __future__ import annotations

import numpy as np

from designer.core.tensor import INTEGER
from designer.interop.onnx_import.context import Context, Node, Unsupported, weight_layer
from designer.interop.onnx_import.values import Const, Tensor, Value, describe


def lookup(node: Node, ctx: Context, table: Const, ids: Value | None) -> Tensor:
    """Rows of ``table`` picked by token ids: an Embedding holding the table."""
    if table.array.ndim != 2 or node.attrs.get("axis", 0) != 0:
        raise Unsupported(
            f"gathers from {describe(table)} along axis {node.attrs.get('axis', 0)}; only rows "
            "of a 2-D table (an Embedding) convert"
        )
    tokens = ctx.tensor(ids, "indices")
    if tokens.dtype not in INTEGER:
        raise Unsupported(f"its indices are {tokens.dtype}; an Embedding looks up integer ids")
    if table.source in ctx.shared:  # read elsewhere too: a table a head is tied to
        if table.source not in ctx.tables:
            ctx.tables[table.source] = table.array, parameter(node, ctx, table)
        shared = ctx.tables[table.source][1]
        return ctx.emit("EmbeddingLookup", {}, [tokens, shared], node)
    rows, width = table.array.shape
    params = {"num_embeddings": int(rows), "embedding_dim": int(width)}
    weights = {"weight": np.asarray(table.array, dtype=np.float32)}
    return ctx.emit("Embedding", params, [tokens], node, weights, weight_layer(table))


def parameter(node: Node, ctx: Context, value: Const) -> Tensor:
    """A constant tensor as a Parameter block that holds it (a learned tensor)."""
    array = np.asarray(value.array, dtype=np.float32)
    params = {"shape": tuple(int(d) for d in array.shape)}
    return ctx.emit("Parameter", params, [], node, {"weight": array}, weight_layer(value))


def learned_inputs(node: Node, ctx: Context, values: list, batched: bool) -> list:
    """The merge's inputs with each constant tensor made a Parameter; with ``batched`` (a
    concatenation), one of batch size 1 is repeated to the batch of the first computed input."""
    tensors = [v for v in values if not isinstance(v, Const)]
    if not tensors:
        raise Unsupported("all its inputs are constants")
    found = []
    for value in values:
        if not isinstance(value, Const):
            found.append(value)
            continue
        if value.array.ndim == 0 or value.array.size == 1:
            raise Unsupported(f"{node.op_type} with {describe(value)}: no block adds a scalar here")
        made = parameter(node, ctx, value)
        if batched:
            if value.array.shape[0] != 1:
                raise Unsupported(
                    f"concatenates {describe(value)} to a batch; only a constant of batch size "
                    "1 (a class token) is repeated over the batch"
                )
            like = ctx.tensor(tensors[0])
            made = ctx.emit("ExpandBatch", {}, [made, like], node)
        found.append(made)
    return found
