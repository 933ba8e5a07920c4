"""What an ONNX value becomes while the graph is converted.

* :class:`Const`: a constant known now (an initializer, a ``Constant`` node, anything computed from
  constants and from the sizes of tensors, such as the pad amounts of a dynamic export);
* :class:`Tensor`: the output of a block of the design (or one of its Inputs), with its shape
  (the batch dimension ``None``);
* :class:`Deferred`: something no block makes on its own but a consumer may absorb: a ``Pad`` that
  a ``Concat`` turns into PadToMatch or a ``Conv`` into its padding, a ``MatMul`` that an ``Add``
  turns into a Linear with bias, an element-wise chain (``x * Sigmoid(x)``) recognised as one
  activation. A consumer that cannot absorb it asks for a tensor (:meth:`Deferred.materialize`);
* :class:`Broken`: the output of a node that could not be converted (reported once, at the node).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(eq=False)
class Const:
    """A constant; ``source`` is the initializer it was read from, when it was one."""

    array: np.ndarray
    source: str | None = None

    @property
    def scalar(self) -> float | None:
        """Its one value, when it holds exactly one."""
        return float(self.array.reshape(-1)[0]) if self.array.size == 1 else None


@dataclass(eq=False)
class Tensor:
    """A block output: ``ref`` is ``(op id, port)`` in the flat op list, ``shape`` its sizes."""

    ref: tuple[str, str]
    shape: tuple
    dtype: str = "float32"

    @property
    def rank(self) -> int:
        return len(self.shape)


@dataclass(eq=False)
class Deferred:
    """A value kept until a consumer absorbs it; ``origin`` is the node (a
    :class:`~designer.interop.onnx_import.context.Node`) that made it."""

    origin: Any
    made: Tensor | None = field(default=None, init=False, repr=False)

    def materialize(self, ctx) -> Tensor:
        """The value as a block output (made once, however many consumers ask)."""
        if self.made is None:
            self.made = self.make(ctx)
        return self.made

    def make(self, ctx) -> Tensor:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


@dataclass(eq=False)
class Broken:
    """The output of a node already reported as not convertible."""

    node: str


@dataclass(eq=False)
class Unavailable:
    """An output the converter does not provide (MaxPool's indices, BatchNorm's statistics)."""

    node: Any  # the Node that made it
    index: int


Value = Const | Tensor | Deferred | Broken | Unavailable


def describe(value: Any) -> str:
    """How a message names a value: ``a tensor of 1×64×32×32``, ``a constant of shape (3,)``."""
    if isinstance(value, Tensor):
        return "a tensor of " + "×".join("N" if d is None else str(d) for d in value.shape)
    if isinstance(value, Const):
        return f"a constant of shape {tuple(value.array.shape)}"
    return type(value).__name__.lower()
