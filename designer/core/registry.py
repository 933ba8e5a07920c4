"""The block registry: what a block type is; every type is declared once, in a family file.

A :class:`BlockSpec` carries what every part of the tool needs: the palette (category, doc), the
inspector and files (typed :class:`~designer.core.params.Param` specs), wiring (named ports),
validation (a pure shape rule and a parameter count), the live builder and code generation (how to
construct the torch module, or the functional op and its source text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from designer.core.forms import Functional, TorchModule
from designer.core.params import Param, ParamError
from designer.core.shapes import Shape

ShapeRule = Callable[[Mapping[str, Any], list[Shape]], Shape]
Counter = Callable[[Mapping[str, Any], list[Shape]], int]


MacCounter = Callable[[Mapping[str, Any], list[Shape], list[Shape]], int]
OnnxCheck = Callable[[Mapping[str, Any], list[Shape]], "tuple[str, str] | None"]


def no_params(params: Mapping[str, Any], shapes: list[Shape]) -> int:
    """Parameter count of a block without weights."""
    return 0


def no_macs(params: Mapping[str, Any], in_shapes: list[Shape], out_shapes: list[Shape]) -> int:
    """Multiply-accumulates of a block that does no weighted sums (element-wise work is free)."""
    return 0


@dataclass(frozen=True)
class BlockSpec:
    """One block type. Variadic blocks repeat their single input port: ``in1``, ``in2``, ..."""

    name: str
    category: str
    doc: str
    shape: ShapeRule
    params: tuple[Param, ...] = ()
    inputs: tuple[str, ...] = ("in",)
    outputs: tuple[str, ...] = ("out",)
    variadic: bool = False
    min_inputs: int = 1
    count: Counter = no_params
    macs: MacCounter = no_macs  # per sample: multiply-accumulates of weighted sums
    onnx: OnnxCheck | None = None  # why torch's ONNX exporter cannot take these params, or None
    torch: TorchModule | None = None
    functional: Functional | None = None
    composite: Any = None  # a designer.core.composite.CompositeDef for blocks made of blocks
    param_index: dict[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "param_index", {p.name: p for p in self.params})

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default value."""
        return {p.name: p.default for p in self.params}

    def resolve(
        self, raw: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, ParamError]]]:
        """Defaults overlaid with ``raw``, each value coerced; errors are returned, not raised."""
        values = self.defaults()
        errors: list[tuple[str, ParamError]] = []
        for name, value in raw.items():
            spec = self.param_index.get(name)
            if spec is None:
                known = ", ".join(self.param_index) or "none"
                errors.append(
                    (name, ParamError(f"{self.name} has no parameter {name!r}", f"known: {known}"))
                )
                continue
            try:
                values[name] = spec.coerce(value)
            except ParamError as exc:
                errors.append((name, exc))
        return values, errors

    def input_ports(self, wired: int = 0) -> tuple[str, ...]:
        """Input port names; a variadic block shows one more than it has wired."""
        if not self.variadic:
            return self.inputs
        n = max(self.min_inputs, wired + 1)
        return tuple(f"{self.inputs[0]}{i}" for i in range(1, n + 1))

    def port_index(self, port: str) -> int | None:
        """Position of an input port, or None if the block has no such port."""
        if not self.variadic:
            return self.inputs.index(port) if port in self.inputs else None
        prefix = self.inputs[0]
        digits = port[len(prefix) :]
        if port.startswith(prefix) and digits.isdigit() and digits[0] != "0":
            return int(digits) - 1
        return None


class UnknownBlockError(KeyError):
    """A block type that no registry knows."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown block type {self.name!r}"


class Registry:
    """Block specs by name. Registering a name twice is an error that names it."""

    def __init__(self) -> None:
        self._specs: dict[str, BlockSpec] = {}

    def add(self, spec: BlockSpec) -> BlockSpec:
        if spec.name in self._specs:
            raise ValueError(f"block type {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> BlockSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownBlockError(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[BlockSpec]:
        return iter(list(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)

    def categories(self) -> dict[str, list[BlockSpec]]:
        """Specs grouped by category, in registration order: what the palette shows."""
        groups: dict[str, list[BlockSpec]] = {c: [] for c in CATEGORY_ORDER}
        for spec in self._specs.values():
            groups.setdefault(spec.category, []).append(spec)
        return {c: specs for c, specs in groups.items() if specs}


CATEGORY_ORDER = (
    "Input/Output",
    "Convolution",
    "Pooling",
    "Normalization",
    "Activation",
    "Dense",
    "Resize",
    "Merge",
    "Utility",
)  # palette order; other categories follow
REGISTRY = Registry()  # filled by importing designer.blocks (the families and the library)
register = REGISTRY.add
