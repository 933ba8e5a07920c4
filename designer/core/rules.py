"""Shape rules meet tensor specs: the thin adapters between the two kinds of rule.

A block declares one rule. A *shape rule* (the classic kind) takes and returns tuples with
``None`` for the batch; a *tensor rule* takes and returns :class:`~designer.core.tensor.TensorSpec`
(or ``None`` for an unwired optional input). :class:`~designer.core.registry.BlockSpec` derives
the other kind from the one declared, so validation always calls a tensor rule and older callers
(code generation's symbolic walk, tests) may still call a shape rule:

* :func:`tensor_rule_of` wraps a shape rule. It checks the input dtypes against those the block
  accepts, hands the rule each spec's sizes (every symbolic size is ``None``), and returns specs
  with the first input's dtype and, position by position, its symbols. A rule that cannot compute
  with a symbolic size beyond the batch (``None * 2``) is reported as needing a fixed size there;
* :func:`shape_rule_of` wraps a tensor rule for callers that hold only tuples (dtype float32).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from designer.core.shapes import Shape, ShapeError
from designer.core.tensor import (
    DEFAULT_DTYPE,
    FLOATING,
    TensorSpec,
    dtype_kind,
    format_spec,
    normal_names,
    plain_spec,
)

ShapeRule = Callable[[Mapping[str, Any], list[Shape]], "Shape | list[Shape]"]
TensorRule = Callable[
    [Mapping[str, Any], list["TensorSpec | None"]], "TensorSpec | list[TensorSpec]"
]


def tensor_rule_of(rule: ShapeRule, block: str, dtypes: Sequence[str] = FLOATING) -> TensorRule:
    """A tensor rule that runs the shape rule ``rule`` of ``block`` (see the module doc)."""

    def tensor_rule(params: Mapping[str, Any], specs: list[TensorSpec | None]):
        shapes, named, plain = [], False, True
        for spec in specs:
            if spec is None:
                shapes.append(None)
                continue
            if spec.dtype not in dtypes:
                raise dtype_error(block, specs, dtypes)
            named = named or bool(spec.names)
            plain = plain and not spec.names and None not in spec.shape[1:]
            shapes.append(spec.shape)
        if plain:
            out = rule(params, shapes)
        else:
            out = call_with_symbols(rule, params, shapes, specs, block)
        if isinstance(out, list):
            return [_spec_like(o, specs, named) for o in out]
        return _spec_like(out, specs, named)

    return tensor_rule


def shape_rule_of(rule: TensorRule) -> ShapeRule:
    """A shape rule that runs the tensor rule ``rule`` on float32 specs of the given sizes."""

    def shape_rule(params: Mapping[str, Any], shapes: list[Shape]):
        out = rule(params, [None if s is None else TensorSpec(tuple(s)) for s in shapes])
        return [o.shape for o in out] if isinstance(out, list) else out.shape

    return shape_rule


def check_dtypes(block: str, specs: Sequence[TensorSpec | None], dtypes: Sequence[str]) -> None:
    """Raise a ``dtype`` ShapeError naming the first input whose dtype the block does not take
    (for tensor rules, which check dtypes themselves)."""
    if any(s is not None and s.dtype not in dtypes for s in specs):
        raise dtype_error(block, specs, dtypes)


def dtype_error(block: str, specs: Sequence[TensorSpec | None], dtypes: Sequence[str]):
    """The ShapeError for the first input whose dtype is not one of ``dtypes``."""
    port, spec = next(
        (i, s) for i, s in enumerate(specs) if s is not None and s.dtype not in dtypes
    )
    wanted = " or ".join(dict.fromkeys(dtype_kind(d) for d in dtypes))
    return ShapeError(
        f"{block} takes {wanted} tensors, input {port + 1} is {spec.dtype} ({format_spec(spec)})",
        f"feed it a {dtypes[0]} tensor (an Input's dtype sets what enters the model)",
        port,
        "dtype",
    )


def call_with_symbols(rule, params, shapes, specs, block: str):
    """Run a shape rule (or count) on inputs with named symbolic sizes: a rule doing arithmetic
    on one (``None``) fails with TypeError, which is reported as needing a fixed size there."""
    try:
        return rule(params, shapes)
    except TypeError:
        error = symbolic_error(block, specs)
        if error is None:
            raise
        raise error from None


def symbolic_error(block: str, specs: Sequence[TensorSpec | None]) -> ShapeError | None:
    """The block computed with a symbolic size that only a fixed one can serve (None when no
    input has a symbolic size beyond dimension 0)."""
    found = [
        (port, spec, axis)
        for port, spec in enumerate(specs)
        if spec is not None
        for axis in range(1, spec.rank)
        if spec.shape[axis] is None
    ]
    if not found:
        return None
    port, spec, axis = found[0]
    name = spec.symbol(axis)
    return ShapeError(
        f"{block} needs a fixed size in dimension {axis} of {format_spec(spec)}, "
        f"where the size {name} varies",
        f"fix the size {name} in the Input's shape, or check at given sizes (--input-shape)",
        port,
        "symbolic",
    )


def _spec_like(shape: Shape, specs: Sequence[TensorSpec | None], named: bool) -> TensorSpec:
    """An output spec for a shape rule's result: the first input's dtype and symbols."""
    dtype = DEFAULT_DTYPE
    for spec in specs:
        if spec is not None:
            dtype = spec.dtype
            break
    shape = tuple(shape)
    if not named:
        return plain_spec(shape, dtype)
    names = tuple(_symbol_at(specs, i) if d is None else None for i, d in enumerate(shape))
    return TensorSpec(shape, dtype, normal_names(shape, names))


def _symbol_at(specs: Sequence[TensorSpec | None], axis: int) -> str | None:
    """The symbol the first input symbolic at ``axis`` has there (None: the default one)."""
    for spec in specs:
        if spec is not None and axis < spec.rank and spec.shape[axis] is None:
            return spec.symbol(axis)
    return None
