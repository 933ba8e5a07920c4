"""What one traced node becomes: a block, an alias of another value, a folded constant, or
something the vocabulary cannot express (with the reason); and block parameters made clean."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import fx

from designer.core.registry import REGISTRY
from designer.interop.importer.modules import Unsupported

# parameters written out even at their default: they are what a reader looks for first
ALWAYS = frozenset(
    {"out_channels", "out_features", "kernel_size", "num_groups", "output_size", "dim", "p", "dims"}
)


@dataclass
class Block:
    """A block fed by ``inputs`` (tensor nodes, in the spec's port order unless ``ports`` names
    the port each feeds). ``outputs`` mirrors what the torch call returns when that is a tuple:
    port names, nested as the tuple is, None for an item no port gives (MultiheadAttention's
    weights)."""

    block: str
    params: dict[str, Any]
    inputs: list[fx.Node]
    layer: str | None = None  # the module path whose weights the block takes
    ports: tuple[str, ...] | None = None
    outputs: Any = "out"
    tensors: dict[str, str] | None = None  # live name -> module key, for a tensor read directly
    missing: str = ""  # why an item of ``outputs`` that is None has no port


@dataclass
class Pick:
    """An item of a tuple a block returns (``out, (h, c) = self.lstm(x)``)."""

    source: fx.Node
    index: int


@dataclass
class Alias:
    """The node's value is another node's (``contiguous``, a zero pad, dropout at eval)."""

    source: fx.Node


@dataclass
class Fold:
    """A Python value (a size, a rank, a constant): folded into the parameters that read it."""


@dataclass
class Opaque:
    """A node no block expresses. ``path`` is the module path (empty for the model itself)."""

    path: str
    op: str
    reason: str
    cls: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{where(self.path, self.cls)}: {self.op}: {self.reason}"


def where(path: str, cls: str = "") -> str:
    """How a report names a place: the module path in backquotes, or the model, and the class."""
    text = f"`{path}`" if path else "the model"
    return f"{text} ({cls})" if cls else text


Mapped = Block | Alias | Fold | Opaque | Pick


def simplify(value: Any) -> Any:
    """``(3, 3)`` -> ``3``: a tuple of equal sizes reads as one."""
    if isinstance(value, (tuple, list)) and value and len(set(value)) == 1:
        return value[0]
    return value


def clean_params(block: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Every parameter of ``block``, checked by its spec; :class:`Unsupported` when out of range.
    Per-axis sizes read as one when equal (``(3, 3)`` -> ``3``); lists such as a shape do not."""
    spec = REGISTRY.get(block)
    values, errors = spec.resolve(raw)
    if errors:
        text = "; ".join(exc.message for _, exc in errors)
        raise Unsupported(f"{block} cannot take it: {text}")
    return {
        name: simplify(value) if _per_axis(spec.param_index.get(name)) else value
        for name, value in values.items()
    }


def _per_axis(param) -> bool:
    """An ``ints`` parameter of one value per axis (kernel_size), which may be written once."""
    return param is not None and param.kind == "ints" and param.length is not None


def written_params(block_spec, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a design file shows: those off the default and the ALWAYS ones (all of
    a composite's: its instances differ in them)."""
    if block_spec.composite is not None:
        return dict(params)
    shown = {}
    for name, value in params.items():
        param = block_spec.param_index.get(name)
        fixed = param is not None and not isinstance(value, dict) and name not in ALWAYS
        if not fixed or value != simplify(param.default):
            shown[name] = value
    return shown
