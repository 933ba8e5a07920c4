"""Constants computed at import time: any node whose inputs are all constants (evaluated by
``onnx.reference``, so every standard op folds), and ``Shape``/``Size`` of a tensor, whose sizes
are known here. That turns the size arithmetic of a dynamic export (``Shape -> Gather -> Div ->
Concat -> Pad``) into the constant amounts it has at the example size."""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

from designer.interop.onnx_import.context import Node, Unsupported
from designer.interop.onnx_import.values import Const, Tensor

_NOT_FOLDED = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike"})


def foldable(node: Node) -> bool:
    """Whether every input is a constant (a node without inputs included)."""
    if node.proto.domain not in ("", "ai.onnx") or node.op_type in _NOT_FOLDED:
        return False
    return all(v is None or isinstance(v, Const) for v in node.inputs)


def fold(node: Node) -> list[Const]:
    """The node's outputs, computed now."""
    if node.op_type == "Constant" and node.proto.attribute[0].name == "value":
        return [Const(numpy_helper.to_array(node.proto.attribute[0].t))]
    feeds = {
        name: value.array
        for name, value in zip(node.proto.input, node.inputs, strict=True)
        if name and value is not None
    }
    try:
        results = ReferenceEvaluator(node.proto, opsets={"": node.opset}).run(None, feeds)
    except Exception as exc:  # the reference runtime raises many types; all mean the same here
        raise Unsupported(f"cannot compute this constant: {type(exc).__name__}: {exc}") from None
    return [Const(np.asarray(r)) for r in results]


def sizes(tensor: Tensor, batch: int) -> np.ndarray:
    """The tensor's sizes at the example batch."""
    return np.array([batch if d is None else d for d in tensor.shape], dtype=np.int64)


def shape_of(node: Node, tensor: Tensor, batch: int) -> Const:
    """``Shape`` (with its ``start`` and ``end``) or ``Size`` of a tensor."""
    full = sizes(tensor, batch)
    if node.op_type == "Size":
        return Const(np.array(full.prod(), dtype=np.int64))
    start, end = node.attrs.get("start", 0), node.attrs.get("end", len(full))
    return Const(full[start:end])
