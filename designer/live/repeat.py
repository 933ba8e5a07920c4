"""A repeated node as a module: an ``nn.Sequential`` of N independently constructed copies.

The first copy is built for the node's input spec, the others for its output (the spec every
copy after the first keeps, see :mod:`designer.core.repeat`), so the weights' keys read
``layers.0.weight``, ``layers.1.weight``, ... as in the generated code.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from designer.core.walk import Visit


def repeated(visit: Visit, build: Callable[[Visit], nn.Module]) -> nn.Sequential:
    """The node's copies in order, each from ``build`` (called once per copy)."""
    modules = [build(copy) for copy, n in visit.copies() for _ in range(n)]
    sequence = nn.Sequential(*modules)
    sequence._designer_repeat = True  # one node: a capture records its output, not each member
    return sequence


def is_repeated(module: nn.Module) -> bool:
    """True for the Sequential of a repeated node (not a chain of nodes)."""
    return getattr(module, "_designer_repeat", False)
