"""Layers torch lacks, one family per file: the classes a ``TorchModule(layer=True)`` names.

Each family file lists its classes in ``LAYERS`` and the module-level functions they call in
``FUNCTIONS``. The live model constructs them; the code generator copies their source into
generated files (each function once, beside the classes that call it), so each must use only
``torch``, ``nn``, ``F`` and those functions, subclass a torch layer where one exists (its
``state_dict`` keys stay torch's), and keep the docstring it should have there.
"""

from __future__ import annotations

import dis
from collections.abc import Callable, Mapping
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

FAMILIES = (attention, embedding, norm, recurrent, regularization, tensors, window)
CLASSES: dict[str, type[nn.Module]] = {cls.__name__: cls for f in FAMILIES for cls in f.LAYERS}
FUNCTIONS: dict[str, Callable] = {
    fn.__name__: fn for f in FAMILIES for fn in getattr(f, "FUNCTIONS", ())
}


@cache
def helpers_called(name: str) -> tuple[str, ...]:
    """The family functions layer class ``name`` calls, directly or through each other:
    generated files hold them once, beside the classes."""
    called: set[str] = set()
    todo = [
        getattr(getattr(m, "__func__", m), "__code__", None) for m in vars(CLASSES[name]).values()
    ]
    while todo:
        code = todo.pop()
        if code is None:
            continue
        todo += [c for c in code.co_consts if hasattr(c, "co_code")]  # lambdas, comprehensions
        for i in dis.get_instructions(code):
            if i.opname == "LOAD_GLOBAL" and i.argval in FUNCTIONS and i.argval not in called:
                called.add(i.argval)
                todo.append(FUNCTIONS[i.argval].__code__)
    return tuple(sorted(called))


def module_class(form: TorchModule, params: Mapping[str, Any]) -> type[nn.Module]:
    """The class a block's :class:`~designer.core.forms.TorchModule` constructs."""
    name = form.class_name(params)
    if form.imported:
        from designer.blocks.torch_call import imported_class

        return imported_class(name)
    return CLASSES[name] if form.layer else getattr(nn, name)
