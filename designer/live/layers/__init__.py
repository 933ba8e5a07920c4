"""Layers torch lacks, one family per file: the classes a ``TorchModule(layer=True)`` names.

Each family file lists its classes in ``LAYERS``. The live model constructs them; the code
generator copies their source into generated files, so each must use only ``torch``, ``nn`` and
``F``, subclass a torch layer where one exists (its ``state_dict`` keys stay torch's), and keep
the docstring it should have there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from designer.core.forms import TorchModule
from designer.live.layers import attention, embedding, norm, recurrent, regularization, tensors

CLASSES: dict[str, type[nn.Module]] = {
    cls.__name__: cls
    for family in (attention, embedding, norm, recurrent, regularization, tensors)
    for cls in family.LAYERS
}


def module_class(form: TorchModule, params: Mapping[str, Any]) -> type[nn.Module]:
    """The class a block's :class:`~designer.core.forms.TorchModule` constructs."""
    name = form.class_name(params)
    return CLASSES[name] if form.layer else getattr(nn, name)
