"""Functional ops and tensor methods -> blocks: ``operator.add`` -> Add, ``torch.cat`` -> Concat...

Each entry names the block and the op's arguments in order, so that positional and keyword calls
read alike; numbers among them are folded from the example run. Reshapes (``view``, ``reshape``,
``flatten``, ``squeeze``) become Flatten when their output is the input with a run of dimensions
merged, else Reshape, the batch kept. Tensor plumbing (permute, indexing, reductions...) is
:mod:`~designer.interop.importer.tensorops`'.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx

from designer.interop.importer.mapped import Alias, Block, Mapped
from designer.interop.importer.modules import Unsupported, upsample_params
from designer.interop.importer.padmatch import NotPadToMatch, pad_reference
from designer.interop.importer.tensorops import map_tensor_op, squeeze
from designer.interop.importer.vision import map_vision, resize_like

_ACT = ("input",)
_POOL = ("input", "kernel_size", "stride", "padding")
ACTIVATIONS: dict[Any, tuple[str, tuple[str, ...]]] = {
    F.relu: ("ReLU", _ACT),
    torch.relu: ("ReLU", _ACT),
    torch.relu_: ("ReLU", _ACT),
    F.relu6: ("ReLU6", _ACT),
    F.leaky_relu: ("LeakyReLU", ("input", "negative_slope")),
    F.elu: ("ELU", ("input", "alpha")),
    F.gelu: ("GELU", _ACT),
    F.silu: ("SiLU", _ACT),
    F.mish: ("Mish", _ACT),
    F.hardswish: ("Hardswish", _ACT),
    F.hardsigmoid: ("Hardsigmoid", _ACT),
    torch.sigmoid: ("Sigmoid", _ACT),
    F.sigmoid: ("Sigmoid", _ACT),
    torch.tanh: ("Tanh", _ACT),
    F.tanh: ("Tanh", _ACT),
    F.softmax: ("Softmax", ("input", "dim")),
    torch.softmax: ("Softmax", ("input", "dim")),
    F.log_softmax: ("LogSoftmax", ("input", "dim")),
    torch.log_softmax: ("LogSoftmax", ("input", "dim")),
}
METHOD_ACTIVATIONS = {
    "relu": "ReLU",
    "relu_": "ReLU",
    "sigmoid": "Sigmoid",
    "sigmoid_": "Sigmoid",
    "tanh": "Tanh",
    "tanh_": "Tanh",
    "softmax": "Softmax",
    "log_softmax": "LogSoftmax",
}
POOLS: dict[Any, tuple[str, tuple[str, ...]]] = {}
for _n in (1, 2, 3):
    POOLS[getattr(F, f"max_pool{_n}d")] = (
        f"MaxPool{_n}d",
        (*_POOL, "dilation", "ceil_mode", "return_indices"),
    )
    POOLS[getattr(torch, f"max_pool{_n}d")] = POOLS[getattr(F, f"max_pool{_n}d")]
    POOLS[getattr(F, f"avg_pool{_n}d")] = (
        f"AvgPool{_n}d",
        (*_POOL, "ceil_mode", "count_include_pad", "divisor_override"),
    )
    POOLS[getattr(F, f"adaptive_avg_pool{_n}d")] = (
        f"AdaptiveAvgPool{_n}d",
        ("input", "output_size"),
    )
POOLS[F.adaptive_max_pool2d] = ("AdaptiveMaxPool2d", ("input", "output_size", "return_indices"))

ADDS = (operator.add, operator.iadd, torch.add)
MULS = (operator.mul, operator.imul, torch.mul)
SUBS = (operator.sub, operator.isub, torch.sub)
DIVS = (operator.truediv, operator.itruediv, torch.div)
CATS = (torch.cat, torch.concat, torch.concatenate)
RESHAPES = (torch.flatten, torch.reshape, torch.squeeze)
RESHAPE_METHODS = ("view", "reshape", "flatten", "squeeze")
ALIAS_METHODS = ("contiguous", "clone")


def bind(node: fx.Node, names: tuple[str, ...]) -> dict[str, Any]:
    """The call's arguments by name (positional ones matched to ``names`` in order)."""
    bound = dict(zip(names, node.args, strict=False))
    bound.update(node.kwargs)
    return bound


def map_function(node: fx.Node, ctx) -> Mapped | None:
    """The block a call_function or call_method node is, or None when no rule knows it."""
    target = node.target
    method = node.op == "call_method"
    if (method and target in ("add", "add_")) or (not method and target in ADDS):
        return _merge(node, ctx, "Add")
    if (method and target in ("mul", "mul_")) or (not method and target in MULS):
        return _merge(node, ctx, "Multiply")
    if (method and target in ("sub", "sub_")) or (not method and target in SUBS):
        return _scalar(node, ctx, "AddScalar")
    if (method and target in ("div", "div_")) or (not method and target in DIVS):
        return _scalar(node, ctx, "Scale")
    mapped = map_tensor_op(node, ctx) or map_vision(node, ctx)
    if mapped is not None:
        return mapped
    if method:
        return _method(node, ctx)
    if target in CATS:
        return _concat(node, ctx)
    if target in ACTIVATIONS:
        block, names = ACTIVATIONS[target]
        return _activation(node, ctx, block, names)
    if target in POOLS:
        return _pool(node, ctx)
    if target in RESHAPES:
        return _reshape(node, ctx)
    if target is F.interpolate:
        return _interpolate(node, ctx)
    if target is F.dropout:
        return _dropout(node, ctx)
    if target is F.pad:
        return _pad(node, ctx)
    return None


def _method(node: fx.Node, ctx) -> Mapped | None:
    target = node.target
    if target in METHOD_ACTIVATIONS:
        return _activation(node, ctx, METHOD_ACTIVATIONS[target], ("input", "dim"))
    if target in RESHAPE_METHODS:
        return _reshape(node, ctx)
    if target in ALIAS_METHODS:
        return Alias(node.args[0])
    return None


def _merge(node: fx.Node, ctx, block: str) -> Block:
    """Add or Multiply of two tensors; with a number, AddScalar or Scale."""
    args = bind(node, ("input", "other", "alpha"))
    if ctx.const(args.get("alpha", 1), "alpha") != 1:
        raise Unsupported("alpha other than 1 scales an input (no block does)")
    others = [args["input"], args["other"]]
    if all(ctx.is_tensor(a) for a in others):
        return Block(block, {}, others)
    tensor, number = others if ctx.is_tensor(others[0]) else others[::-1]
    scalar = "AddScalar" if block == "Add" else "Scale"
    value = ctx.const(number, "value")
    if not ctx.is_tensor(tensor) or not isinstance(value, (int, float)):
        raise Unsupported(f"{block.lower()}s values that are no tensor and no number")
    return Block(scalar, {"value" if block == "Add" else "factor": value}, [tensor])


def _scalar(node: fx.Node, ctx, block: str) -> Block:
    """``x - c`` (AddScalar -c) and ``x / c`` (Scale 1/c), ``x`` a tensor and ``c`` a number."""
    x, number = node.args[0], node.args[1] if len(node.args) > 1 else node.kwargs.get("other")
    value = ctx.const(number, "value")
    if not ctx.is_tensor(x) or ctx.is_tensor(number) or not isinstance(value, (int, float)):
        verb = "subtracts" if block == "AddScalar" else "divides by"
        raise Unsupported(f"{verb} a tensor, or from a number (no block does)")
    if block == "AddScalar":
        return Block(block, {"value": -value}, [x])
    if value == 0:
        raise Unsupported("divides by zero")
    return Block(block, {"factor": 1 / value}, [x])


def _concat(node: fx.Node, ctx) -> Mapped:
    """Concat of the tensors; the one tensor itself when the list holds one (DenseNet's first
    layer concatenates ``[x]``)."""
    args = bind(node, ("tensors", "dim"))
    tensors = ctx.tensors(list(args["tensors"]))
    dim = ctx.const(args.get("dim", 0), "dim")
    if len(tensors) == 1:
        return Alias(tensors[0])
    return Block("Concat", {"dim": dim}, tensors)


def _activation(node: fx.Node, ctx, block: str, names: tuple[str, ...]) -> Block:
    args = bind(node, (*names, "inplace"))
    if args.get("dtype") is not None:
        raise Unsupported("a dtype argument (blocks keep the input's dtype)")
    params = {
        name: ctx.const(args[name], name)
        for name in names[1:]
        if name in args and name != "inplace"
    }
    if "approximate" in args:
        params["approximate"] = ctx.const(args["approximate"], "approximate")
    if block in ("Softmax", "LogSoftmax") and params.get("dim") is None:
        raise Unsupported("no dim (torch's legacy implicit dimension); give dim")
    return Block(block, params, ctx.tensors([args["input"]]))


def _pool(node: fx.Node, ctx) -> Block:
    block, names = POOLS[node.target]
    args = {k: ctx.const(v, k) for k, v in bind(node, names).items() if k != "input"}
    if args.pop("return_indices", False):
        raise Unsupported("return_indices=True (no block returns the indices)")
    if args.pop("divisor_override", None) is not None:
        raise Unsupported("divisor_override (no block parameter for it)")
    if "stride" in args and args["stride"] in ([], (), args.get("kernel_size")):
        args["stride"] = None
    return Block(block, args, ctx.tensors([node.args[0]]))


def _interpolate(node: fx.Node, ctx) -> Mapped:
    names = ("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor")
    args = bind(node, (*names, "antialias"))
    if ctx.reads_sizes(args.get("size")):
        return resize_like(node, ctx, args)
    if ctx.const(args.get("antialias", False), "antialias"):
        raise Unsupported("antialias=True (Upsample has no such parameter)")
    params = upsample_params(
        ctx.const(args.get("size"), "size"),
        ctx.const(args.get("scale_factor"), "scale_factor"),
        ctx.const(args.get("mode", "nearest"), "mode"),
        ctx.const(args.get("align_corners"), "align_corners"),
    )
    return Block("Upsample", params, ctx.tensors([args["input"]]))


def _dropout(node: fx.Node, ctx) -> Mapped:
    args = bind(node, ("input", "p", "training", "inplace"))
    if not ctx.const(args.get("training", True), "training"):
        return Alias(args["input"])
    return Block("Dropout", {"p": ctx.const(args.get("p", 0.5), "p")}, ctx.tensors([args["input"]]))


def _pad(node: fx.Node, ctx) -> Mapped:
    args = bind(node, ("input", "pad", "mode", "value"))
    if ctx.const(args.get("mode", "constant"), "mode") != "constant" or ctx.const(
        args.get("value"), "value"
    ) not in (None, 0, 0.0):
        raise Unsupported("a pad other than zeros (PadToMatch pads zeros)")
    x, amounts = args["input"], list(args["pad"])
    try:
        ref = pad_reference(x, amounts, ctx.values, ctx.order)
    except NotPadToMatch as exc:
        raise Unsupported(f"pads by amounts PadToMatch does not compute: {exc}") from None
    if ref is not None:
        return Block("PadToMatch", {}, ctx.tensors([x, ref]))
    fixed = [ctx.const(a, "pad") for a in amounts]
    if any(fixed):
        raise Unsupported(f"pads by the fixed amounts {fixed} (no block pads by fixed amounts)")
    return Alias(x)


def flatten_span(before: tuple, after: tuple) -> tuple[int, int] | None:
    """(start, end) such that flattening ``before`` there gives ``after``, the batch kept."""
    for start in range(1, len(before)):
        for end in range(start, len(before)):
            merged = math.prod(before[start : end + 1])
            if (*before[:start], merged, *before[end + 1 :]) == tuple(after):
                return start, end
    return None


def _reshape(node: fx.Node, ctx) -> Mapped:
    if node.target in ("squeeze", torch.squeeze):
        squeezed = squeeze(node, ctx)
        if squeezed is not None:
            return squeezed
    x = node.args[0]
    before, after = ctx.shape(x), ctx.shape(node)
    if before is None or after is None:
        raise Unsupported("a reshape whose shapes the example run could not tell")
    if tuple(before) == tuple(after):
        return Alias(x)
    span = flatten_span(tuple(before), tuple(after))
    if span is None and len(after) > 1 and after[0] == before[0]:
        return Block("Reshape", {"shape": tuple(after[1:])}, ctx.tensors([x]))
    if span is None:
        raise Unsupported(
            f"reshapes {tuple(before)} to {tuple(after)}, which moves or merges the batch "
            "(dimension 0); Reshape and Flatten keep it"
        )
    start, end = span
    params = {"start_dim": start, "end_dim": -1 if end == len(before) - 1 else end}
    return Block("Flatten", params, ctx.tensors([x]))
