"""Merging branches: ``Concat`` -> Concat, ``Add``/``Sum`` -> Add, ``Mul`` -> Multiply; a
constant tensor among the inputs is a Parameter (see ``embedding``).

A ``Pad`` feeding one of them that centres a tensor on the size of another input becomes
PadToMatch (the U-Net's ``Up``); an ``Add`` of a bias vector to a ``MatMul`` is a Linear with
bias; arithmetic on one tensor and scalars is part of an element-wise chain (an activation)."""

from __future__ import annotations

from designer.interop.onnx_import.activation import arithmetic
from designer.interop.onnx_import.context import Context, Node
from designer.interop.onnx_import.embedding import learned_inputs
from designer.interop.onnx_import.linear import linear_with_bias
from designer.interop.onnx_import.pad import resolve_pads
from designer.interop.onnx_import.registry import converter
from designer.interop.onnx_import.values import Const, Value


def _inputs(node: Node, ctx: Context, batched: bool = False) -> list:
    """The inputs, a constant tensor made a Parameter (a positional embedding, a class token)."""
    if any(isinstance(v, Const) for v in node.inputs):
        return learned_inputs(node, ctx, list(node.inputs), batched)
    return list(node.inputs)


@converter("Concat", since=1)
def concat(node: Node, ctx: Context) -> Value:
    tensors = resolve_pads(_inputs(node, ctx, batched=node.attrs["axis"] != 0), ctx)
    if len(tensors) == 1:
        return tensors[0]
    axis = node.attrs["axis"] % tensors[0].rank
    return ctx.emit("Concat", {"dim": axis}, tensors, node)


@converter("Add", since=1)
def add(node: Node, ctx: Context) -> Value:
    fused = linear_with_bias(node, ctx)
    if fused is not None:
        return fused
    return _merge(node, ctx, "Add")


@converter("Mul", since=1)
def mul(node: Node, ctx: Context) -> Value:
    return _merge(node, ctx, "Multiply")


@converter("Sum", since=1)
def sum_(node: Node, ctx: Context) -> Value:
    if len(node.inputs) == 1:
        return ctx.tensor(node.input(0))
    return ctx.emit("Add", {}, resolve_pads(_inputs(node, ctx), ctx), node)


def _merge(node: Node, ctx: Context, block: str) -> Value:
    chained = arithmetic(node, merge=block)
    if chained is not None:
        return chained
    return ctx.emit(block, {}, resolve_pads(_inputs(node, ctx), ctx), node)
