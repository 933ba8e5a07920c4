"""The converter registry: one entry per ONNX op type and opset range, as onnx2torch keys its
converters. A family module (``conv.py``, ``pool.py``...) registers its converters with
:func:`converter`; :func:`find` picks the one for a node's op type and the file's opset."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_DOMAIN = ""


@dataclass(frozen=True)
class Entry:
    """A converter for ``op_type`` in opsets ``since`` to ``until`` (inclusive; None: newest)."""

    op_type: str
    since: int
    until: int | None
    convert: Callable
    domain: str = DEFAULT_DOMAIN

    def covers(self, opset: int) -> bool:
        return self.since <= opset and (self.until is None or opset <= self.until)

    @property
    def opsets(self) -> str:
        return f"{self.since}+" if self.until is None else f"{self.since}-{self.until}"


_TABLE: dict[tuple[str, str], list[Entry]] = defaultdict(list)


def converter(*op_types: str, since: int = 1, until: int | None = None, domain: str = ""):
    """Register the decorated ``convert(node, ctx)`` for ``op_types`` in the opset range."""

    def register(convert: Callable) -> Callable:
        for op_type in op_types:
            entries = _TABLE[(domain, op_type)]
            top = until or 10**6
            clash = [e for e in entries if e.since <= top and since <= (e.until or 10**6)]
            if clash:
                raise ValueError(f"two converters for {op_type} opsets {clash[0].opsets}")
            entries.append(Entry(op_type, since, until, convert, domain))
        return convert

    return register


def find(domain: str, op_type: str, opset: int) -> Entry | None:
    """The converter for this op type at this opset, or None."""
    domain = DEFAULT_DOMAIN if domain == "ai.onnx" else domain
    return next((e for e in _TABLE.get((domain, op_type), ()) if e.covers(opset)), None)


def known_opsets(domain: str, op_type: str) -> list[str]:
    """The opset ranges some converter covers for this op type (for messages)."""
    domain = DEFAULT_DOMAIN if domain == "ai.onnx" else domain
    return [e.opsets for e in _TABLE.get((domain, op_type), ())]


def coverage() -> list[Entry]:
    """Every registered converter, by op type."""
    return sorted((e for es in _TABLE.values() for e in es), key=lambda e: (e.op_type, e.since))
