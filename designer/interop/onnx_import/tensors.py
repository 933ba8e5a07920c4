"""Tensor ops on the axes after the batch: ``Transpose`` -> Transpose or Permute, ``Gather`` of
one index -> Select (of rows of a constant table: Embedding, see ``embedding``), ``Unsqueeze``
of one axis -> Unsqueeze, ``Slice`` along one axis -> Slice, each output of a ``Split`` -> Slice."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from designer.interop.onnx_import.context import Context, Node, Unsupported
from designer.interop.onnx_import.embedding import lookup
from designer.interop.onnx_import.registry import converter
from designer.interop.onnx_import.shape import Raveled
from designer.interop.onnx_import.values import Const, Deferred, Tensor, Value

_END = 2**62  # an end at least this large means "to the end"


def _axis(x: Tensor, axis: int, what: str) -> int:
    axis = int(axis) % x.rank
    if axis == 0:
        raise Unsupported(f"{what} the batch axis; the blocks work on the axes after it")
    return axis


@converter("Transpose", since=1)
def transpose(node: Node, ctx: Context) -> Value:
    x = ctx.tensor(node.input(0))
    perm = [int(p) for p in node.attrs.get("perm", range(x.rank - 1, -1, -1))]
    if perm[0] != 0:
        raise Unsupported(
            f"permutes the axes {perm}, moving the batch axis; the blocks keep it first"
        )
    moved = [i for i, p in enumerate(perm) if p != i]
    if not moved:
        return x
    if len(moved) == 2:
        return ctx.emit("Transpose", {"dim0": moved[0], "dim1": moved[1]}, [x], node)
    return ctx.emit("Permute", {"dims": tuple(perm)}, [x], node)


@converter("Gather", since=1)
def gather(node: Node, ctx: Context) -> Value:
    data, indices = node.input(0), node.input(1)
    if isinstance(data, Raveled):
        return data.restore(node, ctx, ctx.const(indices, "indices"))
    if isinstance(data, Const):
        return lookup(node, ctx, data, indices)
    x = ctx.tensor(data)
    index = ctx.const(indices, "index")
    if index.ndim != 0:
        raise Unsupported(f"gathers {index.size} indices at once; Select takes one")
    axis = _axis(x, node.attrs.get("axis", 0), "selects along")
    return ctx.emit("Select", {"dim": axis, "index": int(index)}, [x], node)


def _unsqueeze(node: Node, ctx: Context, axes) -> Tensor:
    x = ctx.tensor(node.input(0))
    axes = [int(a) for a in np.asarray(axes).reshape(-1)]
    if len(axes) != 1:
        raise Unsupported(f"inserts {len(axes)} axes at once; Unsqueeze inserts one")
    axis = axes[0] % (x.rank + 1)
    if axis == 0:
        raise Unsupported("inserts an axis before the batch; the blocks keep the batch first")
    return ctx.emit("Unsqueeze", {"dim": axis}, [x], node)


@converter("Unsqueeze", since=1, until=12)
def unsqueeze_attr(node: Node, ctx: Context) -> Tensor:
    return _unsqueeze(node, ctx, node.attrs.get("axes", ()))


@converter("Unsqueeze", since=13)
def unsqueeze(node: Node, ctx: Context) -> Tensor:
    return _unsqueeze(node, ctx, ctx.const(node.input(1), "axes"))


def _slice(node: Node, ctx: Context, starts, ends, axes, steps) -> Tensor:
    x = ctx.tensor(node.input(0))
    starts = np.asarray(starts).reshape(-1)
    if len(starts) != 1:
        raise Unsupported(f"slices {len(starts)} axes at once; Slice cuts one")
    axes = [0] if axes is None else np.asarray(axes).reshape(-1)
    step = 1 if steps is None else int(np.asarray(steps).reshape(-1)[0])
    if step < 1:
        raise Unsupported(f"slices with step {step}; Slice steps forwards")
    axis = _axis(x, axes[0], "slices")
    end = int(np.asarray(ends).reshape(-1)[0])
    params = {"dim": axis, "start": int(starts[0]), "end": None if end >= _END else end}
    return ctx.emit("Slice", {**params, "step": step}, [x], node)


@converter("Slice", since=1, until=9)
def slice_attr(node: Node, ctx: Context) -> Tensor:
    attrs = node.attrs
    return _slice(node, ctx, attrs["starts"], attrs["ends"], attrs.get("axes"), None)


@converter("Slice", since=10)
def slice_(node: Node, ctx: Context) -> Tensor:
    starts = ctx.const(node.input(1), "starts")
    ends = ctx.const(node.input(2), "ends")
    axes = ctx.optional_const(node.input(3), "axes")
    return _slice(node, ctx, starts, ends, axes, ctx.optional_const(node.input(4), "steps"))


@dataclass(eq=False)
class Piece(Deferred):
    """One output of a ``Split``: a Slice, made only when a consumer reads it."""

    x: Tensor = None  # type: ignore[assignment]
    axis: int = 1
    start: int = 0
    end: int = 0

    def make(self, ctx: Context) -> Tensor:
        params = {"dim": self.axis, "start": self.start, "end": self.end, "step": 1}
        return ctx.emit("Slice", params, [self.x], self.origin)


def _split(node: Node, ctx: Context, parts) -> list[Piece]:
    x = ctx.tensor(node.input(0))
    axis = _axis(x, node.attrs.get("axis", 0), "splits")
    if parts is None:
        count = node.attrs.get("num_outputs", len(node.proto.output))
        step = -(-int(x.shape[axis]) // count)  # torch.chunk's sizes: the last may be smaller
        parts = [min(step, int(x.shape[axis]) - i * step) for i in range(count)]
    bounds = np.cumsum([0, *(int(p) for p in np.asarray(parts).reshape(-1))])
    return [Piece(node, x=x, axis=axis, start=int(a), end=int(b)) for a, b in pairwise(bounds)]


@converter("Split", since=1, until=12)
def split_attr(node: Node, ctx: Context) -> list[Piece]:
    return _split(node, ctx, node.attrs.get("split"))


@converter("Split", since=13)
def split(node: Node, ctx: Context) -> list[Piece]:
    return _split(node, ctx, ctx.optional_const(node.input(1), "split sizes"))
