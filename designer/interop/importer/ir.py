"""The importer's working form: one :class:`Body` per module call, its :class:`Op` nodes wired by
``(node id, port)`` references, before bodies of one class are merged into a composite block."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from designer.core.graph import IDENTIFIER

Ref = tuple[str, str]  # (node id, output port)


@dataclass
class Op:
    """A node of a body: a block, or a call of a module of the user's (``child``)."""

    id: str
    block: str  # a block type; for a child, set to its composite's name once defined
    params: dict[str, Any]
    inputs: list[Ref]
    what: str  # what it came from, for the report: ``nn.Conv2d``, ``torch.cat``, ``Up``
    layer: str | None = None  # module path of the layer whose weights it takes
    child: Body | None = None
    ports: tuple[str, ...] | None = None  # the input ports ``inputs`` feed (None: the first ones)
    tensors: dict[str, str] | None = None  # live name -> module key, for a tensor read directly
    copies: list[Op] = field(default_factory=list)  # a repeat node: its copies, in order
    shape: tuple | None = None  # its (first) output's shape in the example run
    fed: list = field(default_factory=list, repr=False, compare=False)  # graph nodes feeding it

    @property
    def repeat(self) -> int:
        """How many copies the node stands for (1 unless consecutive instances were folded)."""
        return len(self.copies) or 1

    @property
    def values(self) -> dict[str, Any]:
        """The parameters as constants: a child's are its composite's parameter values."""
        return self.child.values if self.child is not None else self.params


@dataclass
class Body:
    """One call of a module: its inputs (port, example shape), ops in data-flow order, outputs."""

    path: str
    cls: type
    inputs: list[tuple[str, tuple]]
    ops: list[Op] = field(default_factory=list)
    dtypes: dict[str, str] = field(default_factory=dict)  # input port -> dtype, if not float32
    outputs: list[tuple[str, Ref]] = field(default_factory=list)
    block: str = ""  # the composite block it becomes
    values: dict[str, Any] = field(default_factory=dict)  # that block's parameters here

    def walk(self):
        """Every body below this one (children first), this one last."""
        for op in self.ops:
            if op.child is not None:
                yield from op.child.walk()
        yield self

    @property
    def in_channels(self) -> int | None:
        """Dimension 1 of the first input: what a composite's ``in_channels`` reads."""
        shape = self.inputs[0][1] if self.inputs else ()
        return shape[1] if len(shape) > 1 else None


class Namer:
    """Unique node ids within one body, made from module paths and op names."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, wanted: str, kind: str = "node") -> str:
        """An id close to ``wanted``; ``kind`` goes first when it starts with a digit."""
        base = re.sub(r"\W", "_", wanted).strip("_")[:56] or kind
        if base[0].isdigit():
            base = f"{kind}_{base}"
        name, i = base, 1
        while name in self.taken or not IDENTIFIER.match(name):
            name = f"{base}_{i}"
            i += 1
        self.taken.add(name)
        return name
