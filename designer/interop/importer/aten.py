"""ATen ops, as torch.export records them, rewritten as the torch calls the importer maps.

An exported program's graph calls ``torch.ops.aten.relu.default``, ``aten.view.default``,
``aten.slice.Tensor``...; most take the arguments of a torch function (``torch.relu``,
``torch.reshape``), a few need them rearranged (``aten.embedding`` takes the weight first,
``aten.slice`` becomes an index ``x[:, a:b]``). Ops without an entry stay as they are and are
reported by name when nothing maps them. Assertions export inserts are dropped.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import fx

A = torch.ops.aten
END = sys.maxsize  # aten.slice's "to the end"

SAME: dict = {  # aten overload -> torch function taking the same positional arguments
    A.relu.default: torch.relu,
    A.relu_.default: torch.relu,
    A.add.Tensor: torch.add,
    A.add_.Tensor: torch.add,
    A.mul.Tensor: torch.mul,
    A.mul_.Tensor: torch.mul,
    A.sub.Tensor: torch.sub,
    A.div.Tensor: torch.div,
    A.cat.default: torch.cat,
    A.flatten.using_ints: torch.flatten,
    A.view.default: torch.reshape,
    A.reshape.default: torch.reshape,
    A._unsafe_view.default: torch.reshape,
    A.permute.default: torch.permute,
    A.transpose.int: torch.transpose,
    A.unsqueeze.default: torch.unsqueeze,
    A.squeeze.dim: torch.squeeze,
    A.squeeze.dims: torch.squeeze,
    A.select.int: torch.select,
    A.matmul.default: torch.matmul,
    A.bmm.default: torch.bmm,
    A.mean.dim: torch.mean,
    A.sum.dim_IntList: torch.sum,
    A.amax.default: torch.amax,
    A.split.Tensor: torch.split,
    A.split_with_sizes.default: torch.split,
    A.chunk.default: torch.chunk,
    A.softmax.int: torch.softmax,
    A.log_softmax.int: torch.log_softmax,
    A.sigmoid.default: torch.sigmoid,
    A.tanh.default: torch.tanh,
    A.gelu.default: F.gelu,
    A.silu.default: F.silu,
    A.hardswish.default: F.hardswish,
    A.mish.default: F.mish,
    A.leaky_relu.default: F.leaky_relu,
    A.dropout.default: F.dropout,
    A.linear.default: F.linear,
    A.scaled_dot_product_attention.default: F.scaled_dot_product_attention,
    A.pad.default: F.pad,
}
for _n in (1, 2, 3):
    SAME[getattr(A, f"max_pool{_n}d").default] = getattr(F, f"max_pool{_n}d")
    SAME[getattr(A, f"avg_pool{_n}d").default] = getattr(F, f"avg_pool{_n}d")
    SAME[getattr(A, f"adaptive_avg_pool{_n}d").default] = getattr(F, f"adaptive_avg_pool{_n}d")
ALIASES = (A.alias.default, A.clone.default, A.contiguous.default, A.dropout_.default)


def _call(node: fx.Node, target: Callable, *args, **kwargs) -> None:
    node.op, node.target, node.args, node.kwargs = "call_function", target, args, kwargs


def _slice(node: fx.Node) -> None:
    """``aten.slice(x, dim, start, end, step)`` -> ``x[..., start:end:step]`` along ``dim``."""
    x, dim, start, end, step = (*node.args, *(0, None, None, 1)[len(node.args) - 1 :])
    end = None if end == END else end
    cut = slice(start, end, None if step == 1 else step)
    index = (
        (slice(None),) * dim + (cut,) if dim >= 0 else (Ellipsis, cut, *[slice(None)] * (-dim - 1))
    )
    _call(node, operator.getitem, x, index)


def _embedding(node: fx.Node) -> None:
    weight, ids, padding_idx = (*node.args, -1)[:3]
    _call(node, F.embedding, ids, weight, None if padding_idx == -1 else padding_idx)


def _hardtanh(node: fx.Node) -> None:
    x, low, high = (*node.args, -1.0, 1.0)[:3]
    if (low, high) == (0.0, 6.0):
        _call(node, F.relu6, x)


def _upsample(mode: str) -> Callable[[fx.Node], None]:
    def rewrite(node: fx.Node) -> None:
        if mode == "nearest":
            x, size, scales = node.args
            corners = None
        else:
            x, size, corners, scales = node.args
        _call(node, F.interpolate, x, size, scales, mode, corners)

    return rewrite


def _constant_pad(node: fx.Node) -> None:
    x, pad, value = (*node.args, 0)[:3]
    _call(node, F.pad, x, pad, "constant", value)


def _alias(node: fx.Node) -> None:
    node.op, node.target, node.args, node.kwargs = "call_method", "contiguous", node.args[:1], {}


REWRITES: dict = {
    A.slice.Tensor: _slice,
    A.embedding.default: _embedding,
    A.hardtanh.default: _hardtanh,
    A.constant_pad_nd.default: _constant_pad,
    A.upsample_nearest2d.vec: _upsample("nearest"),
    A.upsample_bilinear2d.vec: _upsample("bilinear"),
}
REWRITES.update(dict.fromkeys(ALIASES, _alias))


def _assertion(node: fx.Node) -> bool:
    name = getattr(node.target, "__name__", "")
    return node.op == "call_function" and not node.users and name.startswith(("_assert", "sym_"))


def torch_level(graph: fx.Graph) -> None:
    """Rewrite ``graph``'s ATen calls in place as the torch calls they stand for."""
    for node in list(graph.nodes):
        if _assertion(node):
            graph.erase_node(node)
        elif node.op == "call_function" and node.target in SAME:
            node.target = SAME[node.target]
        elif node.op == "call_function" and node.target in REWRITES:
            REWRITES[node.target](node)
    graph.lint()
