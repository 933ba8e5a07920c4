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
    ``nn.<cls>(...)`` from the very same values, so the two cannot drift apart.
    """

    cls: str
    args: Callable[[Mapping[str, Any], list[Shape]], tuple[tuple, dict]]


@dataclass(frozen=True)
class Functional:
    """A parameter-free op done in ``forward`` rather than by a submodule (cat, add, pad).

    ``fn(params, tensors)`` runs it live; ``code(params, names)`` writes the same as a Python
    expression over the input variable names; ``helpers`` names the module-level helper functions
    (from the templates) that expression calls.
    """

    fn: Callable[[Mapping[str, Any], list[Any]], Any]
    code: Callable[[Mapping[str, Any], list[str]], str]
    helpers: tuple[str, ...] = ()


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
