"""Tensor shapes and the pure shape arithmetic that every block rule reuses.

A shape is a tuple of dimensions; ``None`` stands for the symbolic batch size ``N``. This is the
view classic shape rules read; :mod:`designer.core.tensor` adds dtypes and named symbolic sizes.
Nothing here imports torch: rules must be cheap enough to run on every edit.
"""

from __future__ import annotations

from collections.abc import Sequence

from designer.core.tensor import TensorSpec, format_spec

Shape = tuple  # tuple[int | None, ...]; None is the symbolic batch dimension


class ShapeError(Exception):
    """A block cannot accept its inputs; carries the port it blames and a hint.

    ``code`` says what kind of problem: kernel, rank, channels, mismatch, param, dtype (an
    element type the block does not take) or symbolic (a size that varies where a fixed one is
    needed)."""

    def __init__(self, message: str, hint: str = "", port: int | None = None, code: str = "shape"):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.port = port
        self.code = code


def format_shape(shape: Shape | TensorSpec | None, sep: str = "×") -> str:
    """``(None, 64, 572, 572)`` -> ``N×64×572×572``; a TensorSpec shows its symbols and dtype."""
    if shape is None:
        return "?"
    if isinstance(shape, TensorSpec):
        return format_spec(shape, sep)
    return sep.join("N" if d is None else str(d) for d in shape)


def expand(value: int | Sequence[int], n: int, name: str) -> tuple[int, ...]:
    """An int or an n-sequence, as an n-tuple (torch's ``_ntuple``)."""
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ShapeError(
            f"{name} has {len(value)} values, this block needs {n}", f"give {n} values"
        )
    return value


def require_rank(shape: Shape, ranks: Sequence[int], what: str, port: int = 0) -> None:
    """Raise unless ``len(shape)`` is one of ``ranks``."""
    if len(shape) not in ranks:
        want = " or ".join(f"{r}-D" for r in ranks)
        raise ShapeError(
            f"{what} expects a {want} input, got {len(shape)}-D {format_shape(shape)}",
            "insert Flatten or a reshaping block before it, or pick the block of the right rank",
            port,
            "rank",
        )


def conv_out(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution or pooling window along one axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_out(
    size: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int:
    """Output length of a transposed convolution along one axis."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pool_out(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool) -> int:
    """Output length of max/avg pooling, with torch's ceil-mode correction."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil else 0)) // stride + 1
    if ceil and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def numel(shape: Shape) -> int | None:
    """Elements in one sample (batch excluded); None when a dimension is unknown."""
    total = 1
    for d in shape[1:]:
        if d is None:
            return None
        total *= d
    return total


class NestedError(ShapeError):
    """Issues found inside a composite block instance; the validator prefixes their node paths."""

    def __init__(self, issues: list):
        first = issues[0]
        super().__init__(first.message, first.hint, None, first.code)
        self.issues = issues
