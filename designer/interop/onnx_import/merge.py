"""Merging branches: ``Concat`` -> Concat, ``Add``/``Sum`` -> Add, ``Mul`` -> Multiply.

A ``Pad`` feeding one of them that centres a tensor on the size of another input becomes
PadToMatch (the U-Net's ``Up``); an ``Add`` of a bias vector to a ``MatMul`` is a Linear with
bias; arithmetic on one tensor and scalars is part of an element-wise chain (an activation)."""

from __future__ import annotations

from designer.interop.onnx_import.activation import arithmetic
from designer.interop.onnx_import.context import Context, Node, Unsupported
from designer.interop.onnx_import.linear import linear_with_bias
from designer.interop.onnx_import.pad import resolve_pads
from designer.interop.onnx_import.registry import converter
from designer.interop.onnx_import.values import Const, Value, describe


def _no_constants(node: Node) -> None:
    constants = [v for v in node.inputs if isinstance(v, Const)]
    if constants:
        raise Unsupported(
            f"{node.op_type} with {describe(constants[0])}: no block adds or multiplies by a "
            "constant tensor"
        )


@converter("Concat", since=1)
def concat(node: Node, ctx: Context) -> Value:
    _no_constants(node)
    tensors = resolve_pads(list(node.inputs), ctx)
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
    _no_constants(node)
    return ctx.emit("Add", {}, resolve_pads(list(node.inputs), ctx), node)


def _merge(node: Node, ctx: Context, block: str) -> Value:
    chained = arithmetic(node, merge=block)
    if chained is not None:
        return chained
    _no_constants(node)
    return ctx.emit(block, {}, resolve_pads(list(node.inputs), ctx), node)
