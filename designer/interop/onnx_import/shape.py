"""Shape-only ops: ``Reshape``, ``Flatten`` and ``Squeeze`` that flatten a run of axes (how torch
exports ``torch.flatten(x, 1)`` and ``x.view(x.size(0), -1)``) -> Flatten, that split one axis ->
Unflatten, any other that keeps the batch -> Reshape; a ``Reshape`` to one axis read back in
order by a ``Gather`` (torch's ``as_strided``) -> nothing; ones that change
nothing, ``Identity`` and a ``Cast`` to float32 pass their input on; ``Dropout`` -> Dropout."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np
from onnx import TensorProto

from designer.interop.onnx_import.context import Context, Node, Unsupported
from designer.interop.onnx_import.fold import sizes
from designer.interop.onnx_import.registry import converter
from designer.interop.onnx_import.values import Const, Deferred, Tensor, Value


def flattened_run(before: tuple, after: tuple) -> tuple[int, int] | None:
    """``(start, end)`` when ``after`` is ``before`` with axes start..end merged (batch kept)."""
    merged = len(before) - len(after)
    if merged < 1:
        return None
    for start in range(1, len(after)):
        end = start + merged
        joined = (*before[:start], prod(before[start : end + 1]), *before[end + 1 :])
        if joined == tuple(after):
            return start, end
    return None


def view(node: Node, ctx: Context, x: Tensor, target) -> Tensor:
    """``x`` seen with the sizes ``target`` (at the example batch), if a block does that."""
    before = tuple(int(d) for d in sizes(x, ctx.batch))
    after = tuple(int(d) for d in target)
    if after == before:
        return x
    run = flattened_run(before, after)
    if run is not None:
        start, end = run
        params = {"start_dim": start, "end_dim": -1 if end == len(before) - 1 else end}
        return ctx.emit("Flatten", params, [x], node)
    run = flattened_run(after, before)
    if run is not None:  # one axis split into several (a channel shuffle's first step)
        start, end = run
        return ctx.emit("Unflatten", {"dim": start, "sizes": after[start : end + 1]}, [x], node)
    if after[:1] == before[:1] and prod(after) == prod(before):
        return ctx.emit("Reshape", {"shape": after[1:]}, [x], node)
    raise Unsupported(
        f"reshapes {before} to {after}, merging the batch with other axes; "
        "only reshapes that keep the batch axis convert"
    )


@dataclass(eq=False)
class Raveled(Deferred):
    """A tensor reshaped to one axis, batch included: only a ``Gather`` that puts every element
    back in order (how torch exports ``as_strided`` after a pooling) absorbs it."""

    x: Tensor = None  # type: ignore[assignment]

    def make(self, ctx: Context) -> Tensor:
        raise Unsupported(
            f"reshapes a tensor of {self.x.shape} to one axis, merging the batch; "
            "only reshapes that keep the batch axis convert",
            self.origin,
        )

    def restore(self, node: Node, ctx: Context, indices: np.ndarray) -> Tensor:
        """``x`` seen as ``indices.shape`` when the indices read the elements in order."""
        if not np.array_equal(indices.reshape(-1), np.arange(indices.size)):
            raise Unsupported(
                "gathers the elements of a raveled tensor out of order; no block does"
            )
        return view(node, ctx, self.x, indices.shape)


def _reshaped(before: tuple, shape: np.ndarray, allow_zero: bool) -> list[int]:
    target = [int(d) for d in shape.reshape(-1)]
    if not allow_zero:
        target = [before[i] if d == 0 else d for i, d in enumerate(target)]
    if -1 in target:
        known = prod(d for d in target if d != -1)
        target[target.index(-1)] = prod(before) // max(known, 1)
    return target


@converter("Reshape", since=5)
def reshape(node: Node, ctx: Context) -> Tensor:
    x = ctx.tensor(node.input(0))
    before = tuple(int(d) for d in sizes(x, ctx.batch))
    shape = ctx.const(node.input(1), "target shape")
    target = _reshaped(before, shape, bool(node.attrs.get("allowzero", 0)))
    if len(target) == 1 and len(before) > 1:
        return Raveled(node, x=x)
    return view(node, ctx, x, target)


@converter("Flatten", since=1)
def flatten(node: Node, ctx: Context) -> Tensor:
    x = ctx.tensor(node.input(0))
    before = tuple(int(d) for d in sizes(x, ctx.batch))
    axis = node.attrs.get("axis", 1) % (x.rank + 1)
    return view(node, ctx, x, (prod(before[:axis]), prod(before[axis:])))


def _squeeze(node: Node, ctx: Context, axes) -> Tensor:
    x = ctx.tensor(node.input(0))
    before = tuple(int(d) for d in sizes(x, ctx.batch))
    if axes is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    dropped = {int(a) % x.rank for a in axes}
    return view(node, ctx, x, [d for i, d in enumerate(before) if i not in dropped])


@converter("Squeeze", since=1, until=12)
def squeeze_attr(node: Node, ctx: Context) -> Tensor:
    return _squeeze(node, ctx, node.attrs.get("axes"))


@converter("Squeeze", since=13)
def squeeze(node: Node, ctx: Context) -> Tensor:
    axes = ctx.optional_const(node.input(1), "axes")
    return _squeeze(node, ctx, None if axes is None else axes.reshape(-1).tolist())


@converter("Identity", since=1)
def identity(node: Node, ctx: Context) -> Value:
    return node.input(0)


@converter("Cast", since=1)
def cast(node: Node, ctx: Context) -> Value:
    if node.attrs.get("to") != TensorProto.FLOAT:
        kind = TensorProto.DataType.Name(node.attrs.get("to", 0)).lower()
        raise Unsupported(f"casts a tensor to {kind}; the blocks compute in float32")
    return node.input(0)


def _dropout(node: Node, ctx: Context, ratio: float) -> Tensor:
    x = ctx.tensor(node.input(0))
    return ctx.emit("Dropout", {"p": round(ratio, 6)}, [x], node)


@converter("Dropout", since=1, until=11)
def dropout_attr(node: Node, ctx: Context) -> Tensor:
    return _dropout(node, ctx, float(node.attrs.get("ratio", 0.5)))


@converter("Dropout", since=12)
def dropout(node: Node, ctx: Context) -> Tensor:
    ratio = node.input(1)
    if isinstance(node.input(2), Const) and node.input(2).array.any():
        raise Unsupported("training_mode=True drops at inference")
    value = 0.5 if ratio is None else ctx.const(ratio, "ratio").reshape(-1)[0]
    return _dropout(node, ctx, float(value))
