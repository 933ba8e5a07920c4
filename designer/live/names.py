"""One namespace for every identifier the live model and the generated code use.

User text (labels, block names) becomes a Python identifier here and nowhere else: ASCII letters,
digits and ``_`` only, never a keyword, a builtin, a name the generated module itself uses
(``torch``, ``nn``, ``F``, helpers, classes) or an attribute ``nn.Module`` already has (``eval``,
``training``, ...), and never one starting with ``__`` (inside a class body the compiler mangles
``__width`` and gives ``__class__`` a meaning of its own): those lose their leading underscores
(``__class__`` becomes ``class__``). Clashes get ``_1``, ``_2``, ... as ``torch.fx`` does.
"""

from __future__ import annotations

import builtins
import keyword
import re
from functools import lru_cache

MODULE_NAMES = frozenset({"torch", "nn", "F", "self", "super"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_MAX = 40


def _reserved_base() -> frozenset[str]:
    soft = set(getattr(keyword, "softkwlist", ()))
    return frozenset(set(keyword.kwlist) | soft | set(dir(builtins)) | MODULE_NAMES)


@lru_cache(maxsize=4)
def module_attributes(container: str = "Module") -> frozenset[str]:
    """Names an ``nn.Module`` (or ``nn.ModuleDict``...) defines: a submodule must not shadow one."""
    import torch

    cls = getattr(torch.nn, container)
    probe = cls()
    return frozenset(dir(cls)) | frozenset(vars(probe))


def snake(text: str) -> str:
    """``Double Conv (1)`` -> ``double_conv_1``; empty when nothing usable is left."""
    text = _CAMEL.sub("_", text)
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return re.sub(r"_+", "_", text)[:_MAX].rstrip("_")


def camel(text: str) -> str:
    """``double conv`` or ``double_conv`` -> ``DoubleConv``; keeps existing capitals."""
    parts = re.split(r"[^A-Za-z0-9]+", text)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)[:_MAX]


class Namespace:
    """Hands out unique, legal identifiers within one scope."""

    def __init__(self, reserved: frozenset[str] | set[str] = frozenset()) -> None:
        self._taken: set[str] = set(_reserved_base()) | set(reserved)
        self._used: set[str] = set()

    def take(self, wanted: str, fallback: str = "x") -> str:
        """A fresh identifier close to ``wanted`` (already cleaned by the caller or not)."""
        base = re.sub(r"[^A-Za-z0-9_]", "_", wanted)[:_MAX]
        # ``__x`` is mangled and ``__class__`` special in a class body; ``_`` would number ``__1``
        if base.startswith("__") or not base.strip("_"):
            base = base.lstrip("_")
        base = base or fallback
        if base[0].isdigit():
            base = f"{fallback}_{base}"
        name, i = base, 1
        while name in self._taken:
            name = f"{base}_{i}"
            i += 1
        self._taken.add(name)
        self._used.add(name)
        return name

    def reserve(self, name: str) -> None:
        """Mark ``name`` as used without handing it out."""
        self._taken.add(name)

    def __contains__(self, name: object) -> bool:
        return name in self._taken

    @property
    def used(self) -> frozenset[str]:
        """The names this namespace has handed out."""
        return frozenset(self._used)


def node_label(design, node_id: str) -> str:
    """A node's label as an identifier base (its id, or ``node``, when the label gives nothing)."""
    return snake(design.node(node_id)["label"]) or snake(node_id) or "node"
