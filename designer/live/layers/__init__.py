"""Layers torch lacks, one family per file: the classes a ``TorchModule(layer=True)`` names.

Each family file lists its classes in ``LAYERS``. The live model constructs them; the code
generator copies their source into generated files, so each must use only ``torch``, ``nn`` and
``F``, subclass a torch layer where one exists (its ``state_dict`` keys stay torch's), and keep
the docstring it should have there.
"""

from __future__ import annotations

import dis
from collections.abc import Mapping
from functools import cache
from typing import Any

from torch import nn

from designer.core.forms import TorchModule
from designer.live.layers import (
    attention,
    embedding,
    norm,
    recurrent,
    regularization,
    tensors,
    window,
)
from designer.live.ops import HELPERS

CLASSES: dict[str, type[nn.Module]] = {
    cls.__name__: cls
    for family in (attention, embedding, norm, recurrent, regularization, tensors, window)
    for cls in family.LAYERS
}


@cache
def helpers_called(name: str) -> tuple[str, ...]:
    """The helper functions of :mod:`designer.live.ops` that layer class ``name`` calls by name:
    generated files hold them once, beside the classes."""
    members = vars(CLASSES[name]).values()
    codes = [getattr(getattr(m, "__func__", m), "__code__", None) for m in members]
    called: set[str] = set()
    while codes:
        code = codes.pop()
        if code is not None:
            called.update(i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL")
            codes += [c for c in code.co_consts if hasattr(c, "co_code")]  # lambdas, comprehensions
    return tuple(sorted(called & HELPERS.keys()))


def module_class(form: TorchModule, params: Mapping[str, Any]) -> type[nn.Module]:
    """The class a block's :class:`~designer.core.forms.TorchModule` constructs."""
    name = form.class_name(params)
    return CLASSES[name] if form.layer else getattr(nn, name)
