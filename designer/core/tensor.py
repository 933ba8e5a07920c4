"""Tensor specs: what flows along a wire, as validation sees it.

A :class:`TensorSpec` is a shape whose sizes may be symbolic, plus an element type:

* ``shape`` holds the sizes, ``None`` where a size is symbolic: ``(None, 64, 32, 32)``. This is
  the view every classic shape rule reads (``designer.core.shapes``: ``None`` is the batch);
* ``dtype`` is the element type: ``float32`` (the default), ``int64`` for token ids, ``bool`` for
  masks, or another of :data:`DTYPES`;
* ``names`` names each symbolic size. It is ``()`` in the usual case (the batch ``N`` at dimension
  0, any other symbolic size anonymous, ``?``), so that such specs stay small and fast to compare;
  otherwise it holds one entry per dimension: the symbol, or ``None`` for a fixed size.

``dims`` shows sizes and symbols together: ``("N", 64, 32, 32)``, ``("T", "N", 512)``. A symbol
may sit at any position; two equal symbols stand for the same size. Specs are named tuples:
immutable, hashable and cheap, so they serve as memo keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

BATCH = "N"  # the batch size's symbol
ANONYMOUS = "?"  # a symbolic size no rule named
FLOATING = ("float32", "float16", "bfloat16", "float64")
INTEGER = ("int64", "int32")
DTYPES = (*FLOATING, *INTEGER, "bool")
DEFAULT_DTYPE = "float32"
SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")  # a dimension's name


class TensorSpec(NamedTuple):
    """A tensor as validation knows it: sizes (``None`` where symbolic), dtype, symbol names."""

    shape: tuple
    dtype: str = DEFAULT_DTYPE
    names: tuple = ()

    @classmethod
    def of(cls, dims: Iterable[int | str | None], dtype: str = DEFAULT_DTYPE) -> TensorSpec:
        """A spec from sizes and symbols: ``TensorSpec.of(("T", "N", 512), "float32")``."""
        dims = tuple(dims)
        shape = tuple(None if d is None or isinstance(d, str) else d for d in dims)
        names = tuple(d if isinstance(d, str) else None for d in dims)
        return cls(shape, dtype, normal_names(shape, names))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def dims(self) -> tuple:
        """Sizes with symbols in place of the symbolic ones: ``("N", 3, 224, 224)``."""
        names = self.names or default_names(self.shape)
        return tuple(n if s is None else s for s, n in zip(self.shape, names, strict=True))

    def symbol(self, axis: int) -> str | None:
        """The symbol of dimension ``axis`` (negative counts from the end); None when fixed."""
        if self.shape[axis] is not None:
            return None
        return self.names[axis] if self.names else (BATCH if axis % self.rank == 0 else ANONYMOUS)

    @property
    def symbols(self) -> tuple[str, ...]:
        """The distinct symbols, in order of their first dimension."""
        return tuple(dict.fromkeys(d for d in self.dims if isinstance(d, str)))

    def with_shape(self, shape: Sequence[int | None]) -> TensorSpec:
        """Same dtype; new sizes, a symbolic size keeping the symbol at its position here."""
        shape = tuple(shape)
        if not self.names:
            return TensorSpec(shape, self.dtype)
        names = tuple(self.names[i] if i < self.rank else None for i in range(len(shape)))
        return TensorSpec(shape, self.dtype, normal_names(shape, names))

    def with_dtype(self, dtype: str) -> TensorSpec:
        return self._replace(dtype=dtype)

    def to_json(self) -> dict[str, Any]:
        """``{"dims": ["N", 3, 8, 8], "dtype": "float32"}``."""
        return {"dims": list(self.dims), "dtype": self.dtype}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TensorSpec:
        return cls.of(data["dims"], data.get("dtype", DEFAULT_DTYPE))


def plain_spec(shape: tuple, dtype: str = DEFAULT_DTYPE) -> TensorSpec:
    """``TensorSpec(shape, dtype)`` with the default names, made quickly (rules make many)."""
    return tuple.__new__(TensorSpec, (shape, dtype, ()))


def default_names(shape: tuple) -> tuple:
    """The names ``()`` stands for: ``N`` for a symbolic dimension 0, ``?`` for others."""
    return tuple(
        None if s is not None else BATCH if i == 0 else ANONYMOUS for i, s in enumerate(shape)
    )


def normal_names(shape: tuple, names: tuple) -> tuple:
    """``names`` for ``shape``, ``()`` when they are the default ones; each symbolic size named."""
    names = tuple(
        None if s is not None else n or (BATCH if i == 0 else ANONYMOUS)
        for i, (s, n) in enumerate(zip(shape, names, strict=True))
    )
    return () if names == default_names(shape) else names


def as_spec(value: Any, dtype: str = DEFAULT_DTYPE) -> TensorSpec | None:
    """A TensorSpec from a spec, a legacy shape tuple (``None`` for the batch) or None."""
    if value is None or isinstance(value, TensorSpec):
        return value
    return TensorSpec(tuple(value), dtype)


def shape_of(spec: TensorSpec | None) -> tuple | None:
    """The legacy view of a spec: its sizes, ``None`` where symbolic."""
    return None if spec is None else spec.shape


def format_spec(spec: TensorSpec | None, sep: str = "×") -> str:
    """``N×64×32×32``; the dtype follows when it is not float32: ``N×T int64``."""
    if spec is None:
        return "?"
    text = sep.join(str(d) for d in spec.dims)
    return text if spec.dtype == DEFAULT_DTYPE else f"{text} {spec.dtype}"


def dtype_kind(dtype: str) -> str:
    """``floating-point``, ``integer`` or ``boolean``: how messages speak of a dtype."""
    if dtype in FLOATING:
        return "floating-point"
    return "integer" if dtype in INTEGER else "boolean"
