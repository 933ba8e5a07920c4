"""How a block becomes torch: a module it constructs or a functional op it calls.

Both are declared as data here, once per block type; the live builder and the code generator read
the same declaration, so the model that runs and the code that is written cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from designer.core.shapes import Shape


@dataclass(frozen=True)
class TorchModule:
    """How to construct the block's ``torch.nn`` module.

    ``args(params, in_shapes)`` returns ``(positional, keywords)``: the live builder calls
    ``getattr(torch.nn, cls)(*positional, **keywords)`` and the code generator writes
    ``nn.<cls>(...)`` from the very same values, so the two cannot drift apart. A block that
    wraps a class its parameters name sets ``cls_of(params)``; ``cls`` is then its default.

    ``layer`` marks a class of :mod:`designer.live.layers` rather than ``torch.nn``: a small
    ``nn.Module`` torch lacks (DropPath) or a torch layer with the block's ports (an LSTM that
    returns ``out, h, c``). Its source is copied into generated files, as helper functions are.
    """

    cls: str
    args: Callable[[Mapping[str, Any], list[Shape]], tuple[tuple, dict]]
    cls_of: Callable[[Mapping[str, Any]], str] | None = None
    layer: bool = False
    imported: bool = False  # ``cls_of`` gives an import path (package.module.Class)

    def class_name(self, params: Mapping[str, Any]) -> str:
        """The ``torch.nn`` class to construct for these parameter values."""
        return self.cls if self.cls_of is None else self.cls_of(params)

    def __post_init__(self) -> None:
        if self.layer and self.cls_of is not None:
            raise ValueError(f"layer class {self.cls!r} is fixed: it cannot depend on params")

    @property
    def layers(self) -> tuple[str, ...]:
        """The classes of :mod:`designer.live.layers` this module's construction uses."""
        return (self.cls,) if self.layer else ()


INFIX = {"+": "add", "*": "mul"}  # operator -> its function in the operator module


@dataclass(frozen=True)
class Functional:
    """A parameter-free op done in ``forward`` rather than by a submodule (cat, add, pad).

    Declared once as data: the live model calls the target and the code generator writes the same
    call. ``target`` is a torch function by its dotted name (``torch.cat``), a helper function of
    :mod:`designer.live.ops` by its name (``pad_to_match``, copied into generated files), or an
    infix operator of :data:`INFIX` folded left to right over the inputs (``a + b + c``).
    ``packed`` passes the inputs as one list (``torch.cat([a, b])``) rather than one argument each;
    ``keywords`` names the parameters passed on as keyword arguments of the same name.
    A block that wraps a function its parameters name sets ``target_of(params)`` (a dotted name
    under ``torch``) and ``extra``, a ``kwargs`` parameter whose entries are passed on too.
    """

    target: str
    packed: bool = False
    keywords: tuple[str, ...] = ()
    target_of: Callable[[Mapping[str, Any]], str] | None = None
    extra: str = ""

    @property
    def infix(self) -> bool:
        return self.target in INFIX

    @property
    def helpers(self) -> tuple[str, ...]:
        """The helper functions of :mod:`designer.live.ops` this op calls."""
        if self.target_of is not None or self.infix or "." in self.target:
            return ()
        return (self.target,)

    def target_name(self, params: Mapping[str, Any]) -> str:
        """The dotted name of the function to call for these parameter values."""
        return self.target if self.target_of is None else self.target_of(params)

    def arguments(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments, from the node's parameter values."""
        found = {name: params[name] for name in self.keywords}
        if self.extra:
            found.update(params[self.extra])
        return found


def keywords(
    params: Mapping[str, Any], torch_defaults: Mapping[str, Any], always: tuple = ()
) -> dict:
    """Keyword arguments for a torch constructor: ``always`` ones, then those off the default."""
    kw = {name: params[name] for name in always}
    for name, default in torch_defaults.items():
        value = params[name]
        if value != default and not (
            isinstance(value, tuple) and len(set(value)) == 1 and value[0] == default
        ):
            kw[name] = value
    return kw
