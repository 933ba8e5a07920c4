"""Calls of torchvision's models -> blocks: ``stochastic_depth`` (DropPath),
``self.class_token.expand(n, -1, -1)`` with ``n = x.shape[0]`` (ExpandBatch), ``F.layer_norm``
with a module's weights (LayerNorm) and ``F.interpolate(x, size=y.shape[-2:])`` (ResizeLike).

A size read from a tensor is accepted only when re-running its little graph on made-up shapes
of that tensor gives what the block computes (see :mod:`~designer.interop.importer.padmatch`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import fx

from designer.interop.importer.mapped import Block, Mapped
from designer.interop.importer.modules import Unsupported
from designer.interop.importer.padmatch import NotPadToMatch, amount_graph, evaluate

_SHAPES = ((7, 5, 9, 6), (3, 8, 4, 11))  # made-up shapes a size is re-read from


def _args(node: fx.Node, names: tuple[str, ...]) -> dict[str, Any]:
    bound = dict(zip(names, node.args, strict=False))
    bound.update(node.kwargs)
    return bound


def _is_stochastic_depth(target: Any) -> bool:
    module = getattr(target, "__module__", "") or ""
    return getattr(target, "__name__", "") == "stochastic_depth" and module.startswith(
        "torchvision"
    )


def _stochastic_depth(node: fx.Node, ctx) -> Block:
    """torchvision's ``stochastic_depth(x, p, mode, training)``: mode "row" is DropPath (whole
    samples dropped, the rest scaled by 1/(1-p)); the training flag is the module's, so the
    block keeps it."""
    args = _args(node, ("input", "p", "mode", "training"))
    mode = ctx.const(args.get("mode", "row"), "mode")
    if mode != "row":
        raise Unsupported(
            f'mode="{mode}" drops the whole batch at once (DropPath drops samples, mode="row")'
        )
    return Block("DropPath", {"p": ctx.const(args["p"], "p")}, ctx.tensors([args["input"]]))


def _source(sizes: Any, ctx) -> tuple[fx.Node, list[fx.Node]]:
    """The one tensor ``sizes`` are read from, and the nodes computing them."""
    items = sizes if isinstance(sizes, (list, tuple)) else [sizes]
    try:
        inner, sources = amount_graph(list(items), ctx.values)
    except NotPadToMatch as exc:
        raise Unsupported(f"sizes computed in a way no block does ({exc})") from None
    if len(sources) != 1:
        raise Unsupported("sizes read from several tensors (no block does)")
    return next(iter(sources)), inner


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _reads(sizes: Any, ctx, want) -> fx.Node:
    """The tensor ``sizes`` are read from, checked to be ``want(shape)`` of it on made-up
    shapes; Unsupported otherwise."""
    like, inner = _source(sizes, ctx)
    rank = ctx.values[like].dim()
    items = sizes if isinstance(sizes, (list, tuple)) else [sizes]
    for shape in _SHAPES:
        fake = torch.empty(shape[:rank], device="meta")
        got = evaluate(list(items), inner, ctx.order, {like: fake})
        got = got if isinstance(sizes, (list, tuple)) else got[0]
        if _plain(got) != _plain(want(tuple(fake.shape))):
            raise Unsupported("sizes read from a tensor in a way no block does")
    return like


def _expand(node: fx.Node, ctx) -> Block:
    """``token.expand(n, -1, ...)`` with ``n`` another tensor's batch: ExpandBatch."""
    x, sizes = node.args[0], list(node.args[1:])
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = list(sizes[0])
    shape = ctx.shape(x)
    rest = [ctx.const(s, "size") for s in sizes[1:]]
    if not sizes or any(s != -1 for s in rest) or shape is None or len(sizes) != len(shape):
        raise Unsupported("expands other than (n, -1, ...) with n a tensor's batch (no block does)")
    if shape[0] != 1:
        raise Unsupported(f"expands a dimension 0 of size {shape[0]}; ExpandBatch repeats size 1")
    if not ctx.reads_sizes(sizes[0]):
        raise Unsupported("expands to a fixed batch size; ExpandBatch reads it from a tensor")
    like = _reads(sizes[0], ctx, lambda s: s[0])
    return Block("ExpandBatch", {}, ctx.tensors([x, like]))


def _layer_norm(node: fx.Node, ctx) -> Block:
    """``F.layer_norm(x, shape, self.weight, self.bias, eps)``: LayerNorm over the last
    ``len(shape)`` dimensions, its weights the module's tensors."""
    args = _args(node, ("input", "normalized_shape", "weight", "bias", "eps"))
    x, normalized = args["input"], ctx.const(args["normalized_shape"], "normalized_shape")
    weight, bias = args.get("weight"), args.get("bias")
    held = {k: v for k, v in (("weight", weight), ("bias", bias)) if v is not None}
    if any(not isinstance(v, fx.Node) or v.op != "get_attr" for v in held.values()):
        raise Unsupported("weight or bias computed in the forward (LayerNorm holds its own)")
    if bias is not None and weight is None:
        raise Unsupported("a bias without a weight (LayerNorm has no such setting)")
    dims = len(normalized) if isinstance(normalized, (list, tuple)) else 1
    params = {
        "dims": dims,
        "eps": ctx.const(args.get("eps", 1e-5), "eps"),
        "elementwise_affine": weight is not None,
        "bias": bias is not None,
    }
    tensors = {k: v.target for k, v in held.items()}
    return Block("LayerNorm", params, ctx.tensors([x]), tensors=tensors or None)


def held_only(node: fx.Node) -> bool:
    """Whether a tensor read directly is only ever the weight or bias of an F.layer_norm (which
    the LayerNorm block holds itself, so it needs no Parameter node)."""
    users = list(node.users)
    return bool(users) and all(
        user.op == "call_function"
        and user.target is F.layer_norm
        and node not in (*user.args[:1], user.kwargs.get("input"))
        for user in users
    )


def resize_like(node: fx.Node, ctx, args: dict[str, Any]) -> Mapped:
    """``F.interpolate(x, size=y.shape[-2:], mode=...)``: ResizeLike(x, y)."""
    like = _reads(args["size"], ctx, lambda s: s[2:])
    if ctx.shape(like) is None or len(ctx.shape(like)) != len(ctx.shape(args["input"])):
        raise Unsupported("resizes to the size of a tensor of another rank (no block does)")
    if ctx.const(args.get("antialias", False), "antialias"):
        raise Unsupported("antialias=True (ResizeLike has no such parameter)")
    params = {
        "mode": ctx.const(args.get("mode", "nearest"), "mode"),
        "align_corners": bool(ctx.const(args.get("align_corners"), "align_corners")),
    }
    return Block("ResizeLike", params, ctx.tensors([args["input"], like]))


def map_vision(node: fx.Node, ctx) -> Mapped | None:
    """The block of one of the calls above, or None."""
    if node.op == "call_method":
        return _expand(node, ctx) if node.target == "expand" else None
    if _is_stochastic_depth(node.target):
        return _stochastic_depth(node, ctx)
    if node.target is F.layer_norm:
        return _layer_norm(node, ctx)
    return None
