"""Recognise ``F.pad`` whose amounts centre one tensor on another's size: the PadToMatch block.

The seed's ``Up`` computes ``diffY = x2.size()[2] - x1.size()[2]`` (and ``diffX``) and pads ``x1``
by ``[diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2]``. Rather than match the
source text, the amounts' little graph is run again on made-up sizes (odd, even and negative
differences): when it agrees with PadToMatch every time, it is PadToMatch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import fx

from designer.interop.importer.values import UNKNOWN, is_tensor

# spatial size of x and the difference to ref, per trial; rank 3 to 5 use the first axes
_TRIALS = (((7, 9, 5), (1, 2, 3)), ((8, 6, 4), (-1, 3, 0)), ((5, 11, 9), (4, -3, 1)))


class NotPadToMatch(ValueError):
    """The amounts depend on sizes, but not as PadToMatch computes them."""


def amount_graph(amounts: list, values: dict) -> tuple[list[fx.Node], set[fx.Node]]:
    """The non-tensor nodes the amounts are computed by, and the tensors whose sizes they read."""
    inner: dict[fx.Node, None] = {}
    sources: set[fx.Node] = set()
    stack = [a for a in amounts if isinstance(a, fx.Node)]
    while stack:
        node = stack.pop()
        if node in inner or node in sources:
            continue
        value = values.get(node, UNKNOWN)
        if is_tensor(value):
            sources.add(node)
            continue
        if value is UNKNOWN or node.op not in ("call_function", "call_method"):
            raise NotPadToMatch(f"the amounts use {node.op} {node.target}")
        inner[node] = None
        stack += node.all_input_nodes
    return list(inner), sources


def _expected(x_shape: tuple, ref_shape: tuple) -> list[int]:
    """PadToMatch's amounts: last axis first, the odd element after."""
    pad: list[int] = []
    for axis in range(len(x_shape) - 1, 1, -1):
        diff = ref_shape[axis] - x_shape[axis]
        pad += [diff // 2, diff - diff // 2]
    return pad


def evaluate(amounts: list, inner: list[fx.Node], order: dict, env: dict) -> list[Any]:
    env = dict(env)
    for node in sorted(inner, key=order.__getitem__):
        args = fx.node.map_arg(node.args, env.__getitem__)
        kwargs = fx.node.map_arg(node.kwargs, env.__getitem__)
        if node.op == "call_function":
            env[node] = node.target(*args, **kwargs)
        else:
            env[node] = getattr(args[0], node.target)(*args[1:], **kwargs)
    return [env[a] if isinstance(a, fx.Node) else a for a in amounts]


def _fake(shape: tuple, spatial: tuple) -> torch.Tensor:
    return torch.empty((*shape[:2], *spatial[: len(shape) - 2]), device="meta")


def pad_reference(x: fx.Node, amounts: list, values: dict, order: dict) -> fx.Node | None:
    """The tensor ``x`` is padded to match, or None when the amounts are constants.

    Raises :class:`NotPadToMatch` when they depend on sizes in any other way.
    """
    inner, sources = amount_graph(amounts, values)
    if not sources:
        return None
    others = sources - {x}
    if len(others) != 1:
        raise NotPadToMatch("the amounts do not read the sizes of exactly one other tensor")
    (ref,) = others
    x_shape, ref_shape = tuple(values[x].shape), tuple(values[ref].shape)
    if len(x_shape) != len(ref_shape) or not 3 <= len(x_shape) <= 5:
        raise NotPadToMatch("the tensors differ in rank or have no spatial axes")
    if len(amounts) != 2 * (len(x_shape) - 2):
        raise NotPadToMatch("the amounts do not cover every spatial axis")
    for spatial, diffs in _TRIALS:
        grown = tuple(s + d for s, d in zip(spatial, diffs, strict=True))
        fake_x, fake_ref = _fake(x_shape, spatial), _fake(ref_shape, grown)
        got = evaluate(amounts, inner, order, {x: fake_x, ref: fake_ref})
        if got != _expected(tuple(fake_x.shape), tuple(fake_ref.shape)):
            raise NotPadToMatch("the amounts are not those of a centred pad to the other's size")
    return ref
