"""The constants that differ between instances of one block become its declared parameters.

Each inner parameter is a slot with one value per instance (ABSENT where an optional node is
missing). Slots are visited from the block's output backwards, so the parameter that sets the
output width comes first and takes the plain name (``out_channels``); each later slot reads
``in_channels`` when it follows it (Up's ``in_channels // 2``), else shares a parameter it always
equals (DoubleConv's two convolutions), else gets a parameter of its own. Constants stay
literal, except those the class's constructor names (OutConv's ``out_channels``).
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any

from designer.core.params import Param
from designer.interop.importer.ir import Body, Op
from designer.interop.importer.mapped import ALWAYS, simplify


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()
_SCALES = (("{}", 1, 1), ("{} // 2", 1, 2), ("{} * 2", 2, 1))  # text, multiply, divide


@dataclass
class Declared:
    """A declared parameter being built: its spec, value per instance and the slots it feeds."""

    param: Param
    values: list[Any]
    slots: list[str] = field(default_factory=list)  # ``node.param`` it sets

    def accepts(self, spec: Param, values: list[Any]) -> bool:
        """Whether a slot of this kind always equals this parameter where both are defined."""
        if (spec.kind, spec.length, spec.choices) != (
            self.param.kind,
            self.param.length,
            self.param.choices,
        ):
            return False
        both = [(a, b) for a, b in zip(self.values, values, strict=True) if ABSENT not in (a, b)]
        return bool(both) and all(a == b for a, b in both)

    def absorb(self, values: list[Any]) -> None:
        self.values = [b if a is ABSENT else a for a, b in zip(self.values, values, strict=True)]


def constructor_names(cls: type) -> set[str]:
    """Parameter names of ``cls.__init__`` (empty when it cannot be read)."""
    try:
        return set(inspect.signature(cls.__init__).parameters) - {"self"}
    except (TypeError, ValueError):
        return set()


def _implicit(instances: list[Body], name: str) -> list[Any]:
    if name == "in_channels":
        return [b.in_channels for b in instances]
    return [b.inputs[0][1][-1] if b.inputs and b.inputs[0][1] else None for b in instances]


class Declarer:
    """Declares the parameters of one composite from its instances."""

    def __init__(self, cls: type, instances: list[Body], specs) -> None:
        self.instances = instances
        self.specs = specs  # (op, param name) -> the inner Param
        self.init_names = constructor_names(cls)
        self.declared: dict[str, Declared] = {}
        self.bound: dict[tuple[str, str], str] = {}  # slot -> expression text

    def slot_values(self, op_id: str, name: str) -> list[Any]:
        values = []
        for body in self.instances:
            op = next((o for o in body.ops if o.id == op_id), None)
            values.append(ABSENT if op is None else op.values[name])
        return values

    def _wanted(self, op: Op, name: str, values: list[Any]) -> bool:
        defined = [v for v in values if v is not ABSENT]
        if len({repr(v) for v in defined}) > 1:
            return True
        spec = self.specs(op, name)
        off_default = defined[0] != simplify(spec.default)
        return name in self.init_names and (name in ALWAYS or off_default)

    def _scaled(self, name: str, values: list[Any]) -> str | None:
        """``in_channels``-based text when the slot always follows the input's width."""
        implicit = "in_features" if name.endswith("features") else "in_channels"
        if not name.endswith(("channels", "features")):
            return None
        pairs = [
            (v, i)
            for v, i in zip(values, _implicit(self.instances, implicit), strict=True)
            if v is not ABSENT and isinstance(i, int)
        ]
        if len({i for _, i in pairs}) < 2 or not all(isinstance(v, int) for v, _ in pairs):
            return None
        for text, mul, div in _SCALES:
            if all(v == i * mul // div for v, i in pairs):
                return text.format(implicit)
        return None

    def _declare(self, name: str, spec: Param, values: list[Any]) -> str:
        unique, i = name, 2
        while unique in self.declared:
            unique, i = f"{name}_{i}", i + 1
        default = next(v for v in values if v is not ABSENT)
        param = dataclasses.replace(spec, name=unique, default=default)
        self.declared[unique] = Declared(param, list(values))
        return unique

    def _fresh_name(self, op_id: str, name: str) -> str:
        """The slot's own name when free, else the one constructor argument of the same kind
        of thing still unused (DoubleConv's ``mid_channels``), else ``<node>_<name>``."""
        if name not in self.declared:
            return name
        kind = name.rsplit("_", 1)[-1]
        unused = [
            n
            for n in sorted(self.init_names - set(self.declared) - {"in_channels", "in_features"})
            if n.rsplit("_", 1)[-1] == kind
        ]
        return unused[0] if len(unused) == 1 else f"{op_id}_{name}"

    def slot(self, op: Op, name: str) -> None:
        """Decide what one inner parameter becomes (slots come output first)."""
        values = self.slot_values(op.id, name)
        if not self._wanted(op, name, values):
            return
        spec = self.specs(op, name)
        chosen = None
        if self.declared:
            scaled = self._scaled(name, values)
            if scaled is not None:
                self.bound[(op.id, name)] = scaled
                return
            chosen = next((n for n, d in self.declared.items() if d.accepts(spec, values)), None)
        if chosen is None:
            chosen = self._declare(self._fresh_name(op.id, name), spec, values)
        self.declared[chosen].absorb(values)
        self.declared[chosen].slots.append(f"{op.id}.{name}")
        self.bound[(op.id, name)] = chosen

    def flag(self, name: str, per_instance: list[bool], op_ids: list[str]) -> str:
        """Declare the switch of optional nodes; returns its name (made unique)."""
        unique, i = name, 2
        while unique in self.declared:
            unique, i = f"{name}_{i}", i + 1
        doc = f"Whether {', '.join(op_ids)} exist{'s' if len(op_ids) == 1 else ''}."
        self.declared[unique] = Declared(Param(unique, "bool", per_instance[0], doc), per_instance)
        return unique

    def params(self) -> tuple[Param, ...]:
        """The declared parameters, documented by the nodes they set."""
        return tuple(
            dataclasses.replace(d.param, doc="Sets " + ", ".join(d.slots) + ".")
            if d.slots
            else d.param
            for d in self.declared.values()
        )

    def values_of(self, index: int) -> dict[str, Any]:
        """The parameter values of instance ``index``."""
        return {
            n: d.param.default if d.values[index] is ABSENT else d.values[index]
            for n, d in self.declared.items()
        }
