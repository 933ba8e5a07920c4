"""Tensor plumbing and weighted functions -> the Tensor, Attention and Embedding blocks:
``x.permute(0, 2, 1)`` -> Permute, ``x[:, -1]`` -> Select, ``q @ k.transpose(-2, -1)`` ->
MatMul and Transpose, ``x.mean(1)`` -> Mean, ``a, b = x.chunk(2, -1)`` -> Split,
``F.embedding(ids, w)`` -> EmbeddingLookup, ``F.linear(x, w)`` -> TiedLinear.

Sizes are read from the example run (``x.view(B, T, h, d)`` -> Reshape to ``T×h×d``), the
batch always kept in place: an op that would move, merge or pick from it has no block.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx

from designer.interop.importer.mapped import Alias, Block, Fold, Mapped, Pick
from designer.interop.importer.modules import Unsupported
from designer.interop.importer.values import holds_tensors

MATMULS = (operator.matmul, torch.matmul, torch.bmm)
REDUCTIONS = {torch.mean: "Mean", torch.sum: "Sum", torch.amax: "Amax"}
REDUCTION_METHODS = {"mean": "Mean", "sum": "Sum", "amax": "Amax"}
SPLITS = (torch.split, torch.chunk, torch.tensor_split)


def _args(node: fx.Node, names: tuple[str, ...]) -> dict[str, Any]:
    bound = dict(zip(names, node.args, strict=False))
    bound.update(node.kwargs)
    return bound


def _ints(ctx, values: Any, name: str) -> tuple[int, ...]:
    """Varargs or one sequence of ints (``permute(0, 2, 1)`` or ``permute((0, 2, 1))``)."""
    values = ctx.const(values, name)
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        values = values[0]
    return tuple(int(v) for v in values)


_SWAPS = {  # the names of the two dimensions each spelling of a transpose takes
    "transpose": ("dim0", "dim1"),
    "swapdims": ("dim0", "dim1"),
    "swapaxes": ("axis0", "axis1"),
}


def _dims(node: fx.Node, ctx) -> Block:
    """Permute, Transpose, Select (by dim and index) and Unsqueeze."""
    name = node.target if node.op == "call_method" else node.target.__name__
    x, rest = node.args[0], node.args[1:]
    if name == "permute":
        dims = _ints(ctx, rest or (node.kwargs["dims"],), "dims")
        return Block("Permute", {"dims": dims}, ctx.tensors([x]))
    if name in _SWAPS:
        names = _SWAPS[name]
        args = _args(node, ("input", *names))
        dims = {k: ctx.const(args[n], n) for k, n in zip(("dim0", "dim1"), names, strict=True)}
        return Block("Transpose", dims, ctx.tensors([x]))
    if name == "select":
        args = _args(node, ("input", "dim", "index"))
        picked = {k: ctx.const(args[k], k) for k in ("dim", "index")}
        return Block("Select", picked, ctx.tensors([x]))
    dim = ctx.const(_args(node, ("input", "dim")).get("dim"), "dim")
    return Block("Unsqueeze", {"dim": dim}, ctx.tensors([x]))


def squeeze(node: fx.Node, ctx) -> Mapped | None:
    """``x.squeeze(1)``: Squeeze when dimension 1 is 1 (torch keeps it otherwise); None when no
    dim is given (the reshape rule decides)."""
    dim = _args(node, ("input", "dim")).get("dim")
    if dim is None:
        return None
    dim = ctx.const(dim, "dim")
    if isinstance(dim, (tuple, list)):
        if len(dim) != 1:
            raise Unsupported("squeezes several dimensions at once; squeeze them one by one")
        dim = dim[0]
    x, shape = node.args[0], ctx.shape(node.args[0])
    if shape is None:
        raise Unsupported("a squeeze whose input's shape the example run could not tell")
    if shape[dim] != 1:
        return Alias(x)
    return Block("Squeeze", {"dim": dim}, ctx.tensors([x]))


def _reduce(node: fx.Node, ctx, block: str) -> Block:
    args = _args(node, ("input", "dim", "keepdim"))
    if args.get("dim") is None:
        raise Unsupported(f"reduces every dimension, the batch too; give dim ({block} keeps it)")
    if args.get("dtype") is not None:
        raise Unsupported("a dtype argument (blocks keep the input's dtype)")
    dim = ctx.const(args["dim"], "dim")
    params = {"dim": tuple(dim) if isinstance(dim, (list, tuple)) else dim}
    params["keepdim"] = bool(ctx.const(args.get("keepdim", False), "keepdim"))
    return Block(block, params, ctx.tensors([args["input"]]))


def _index(node: fx.Node, ctx) -> Mapped:
    """``x[:, -1]`` (Select), ``x[:, 1:]`` or ``x[..., :n]`` (Slice): one dimension indexed."""
    x, index = node.args
    shape = ctx.shape(x)
    items = list(index) if isinstance(index, tuple) else [index]
    if any(item is None or ctx.is_tensor(item) for item in items):
        raise Unsupported("indexes with None or a tensor (no block does)")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at : at + 1] = [slice(None)] * (len(shape) - len(items) + 1)
    picked = [(axis, item) for axis, item in enumerate(items) if item != slice(None)]
    if not picked:
        return Alias(x)
    if len(picked) > 1:
        raise Unsupported("indexes several dimensions at once; index them one at a time")
    (axis, item), ellipsis = picked[0], Ellipsis in (index if isinstance(index, tuple) else ())
    dim = axis - len(shape) if ellipsis else axis
    if not isinstance(item, slice):
        return Block("Select", {"dim": dim, "index": ctx.const(item, "index")}, ctx.tensors([x]))
    start, end, step = (ctx.const(v, "slice") for v in (item.start, item.stop, item.step))
    end = None if end is not None and end >= shape[axis] else end
    cut = {"dim": dim, "start": start or 0, "end": end, "step": step or 1}
    return Block("Slice", cut, ctx.tensors([x]))


def _pieces(node: fx.Node, ctx) -> tuple[fx.Node, int, list[int]]:
    """A split's input, dimension and piece sizes (from the example run)."""
    args = _args(node, ("input", "sections", "dim"))
    dim = ctx.const(args.get("dim", 0), "dim")
    pieces = ctx.values.get(node)
    if not isinstance(pieces, (tuple, list)):
        raise Unsupported("a split whose pieces the example run could not tell")
    return args["input"], dim, [p.shape[dim] for p in pieces]


def _split(node: fx.Node, ctx) -> Mapped:
    """Two pieces: the Split block; more: each piece a Slice (see :func:`pick`)."""
    x, dim, sizes = _pieces(node, ctx)
    if len(sizes) != 2:
        return Fold()
    first, second = sizes
    cut = first if second <= first else (first, second)
    params = {"split_size_or_sections": cut, "dim": dim}
    return Block("Split", params, ctx.tensors([x]), outputs=("out1", "out2"))


def _is_split(node: Any) -> bool:
    if not isinstance(node, fx.Node):
        return False
    if node.op == "call_method":
        return node.target in ("split", "chunk", "tensor_split")
    return node.op == "call_function" and node.target in SPLITS


def pick(node: fx.Node, ctx) -> Mapped | None:
    """An item of a tuple of tensors: a Pick of a block's output, or a Slice for a piece of a
    split into more than two; None for anything else."""
    if node.op != "call_function" or node.target is not operator.getitem:
        return None
    source, index = node.args
    if not holds_tensors(ctx.values.get(source)):
        return None
    if not isinstance(index, int):
        raise Unsupported("takes a slice of a tuple of tensors; take its items one at a time")
    if _is_split(source):
        x, dim, sizes = _pieces(source, ctx)
        if len(sizes) != 2:
            index %= len(sizes)
            start = sum(sizes[:index])
            cut = {"dim": dim, "start": start, "end": start + sizes[index], "step": 1}
            return Block("Slice", cut, ctx.tensors([x]))
    return Pick(source, index)


def _weighted(node: fx.Node, ctx, block: str) -> Block:
    """F.embedding(ids, weight) or F.linear(x, weight[, bias]): the weights wired in."""
    if block == "EmbeddingLookup":
        args = _args(node, ("input", "weight", "padding_idx", "max_norm"))
        if args.get("max_norm") is not None:
            raise Unsupported("max_norm (EmbeddingLookup has no such parameter)")
        return Block(block, {}, ctx.tensors([args["input"], args["weight"]]))
    args = _args(node, ("input", "weight", "bias"))
    wired = [args[k] for k in ("input", "weight", "bias") if args.get(k) is not None]
    return Block(block, {}, ctx.tensors(wired))


def _attention(node: fx.Node, ctx) -> Block:
    names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale")
    args = _args(node, (*names, "enable_gqa"))
    if ctx.const(args.get("enable_gqa", False), "enable_gqa"):
        raise Unsupported("enable_gqa=True (the block has no grouped-query attention)")
    params = {k: ctx.const(args[k], k) for k in names[4:] if k in args}
    wired = [args[k] for k in names[:4] if args.get(k) is not None]
    return Block("ScaledDotProductAttention", params, ctx.tensors(wired))


def _matmul(node: fx.Node, ctx) -> Block:
    return Block("MatMul", {}, ctx.tensors(node.args, 2))


FUNCTIONS = {
    torch.permute: _dims,
    torch.transpose: _dims,
    torch.swapaxes: _dims,
    torch.swapdims: _dims,
    torch.select: _dims,
    torch.unsqueeze: _dims,
    operator.getitem: _index,
    F.embedding: lambda node, ctx: _weighted(node, ctx, "EmbeddingLookup"),
    F.linear: lambda node, ctx: _weighted(node, ctx, "TiedLinear"),
    F.scaled_dot_product_attention: _attention,
}
FUNCTIONS.update(dict.fromkeys(SPLITS, _split))
FUNCTIONS.update({f: lambda n, c, b=b: _reduce(n, c, b) for f, b in REDUCTIONS.items()})
FUNCTIONS.update(dict.fromkeys(MATMULS, _matmul))
METHODS = dict.fromkeys(("permute", "select", "unsqueeze", *_SWAPS), _dims)
METHODS.update(dict.fromkeys(("split", "chunk", "tensor_split"), _split))
METHODS.update({m: lambda n, c, b=b: _reduce(n, c, b) for m, b in REDUCTION_METHODS.items()})
METHODS.update(dict.fromkeys(("matmul", "bmm"), _matmul))


def map_tensor_op(node: fx.Node, ctx) -> Mapped | None:
    """The block of a tensor op of this module's tables, or None."""
    table = METHODS if node.op == "call_method" else FUNCTIONS
    rule = table.get(node.target)
    return None if rule is None else rule(node, ctx)
