"""The block registry: what a block type is; every type is declared once, in a family file.

A :class:`BlockSpec` carries what every part of the tool needs: the palette (category, doc), the
inspector and files (typed :class:`~designer.core.params.Param` specs), wiring (named ports,
some maybe optional), validation (a pure rule and a parameter count), the live builder and code
generation (how to construct the torch module, or the functional op and its source text).

A block declares its rule in one of two forms (:mod:`designer.core.rules` adapts each to the
other): ``shape``, a classic rule over tuples with ``None`` for the batch, which accepts the
input dtypes in ``dtypes`` and keeps the first input's; or ``tensor_rule``, over
:class:`~designer.core.tensor.TensorSpec` (sizes, symbols, dtype), which checks dtypes itself.
Either gets one entry per input (``None`` for an unwired optional input) and returns one result,
or a list with one per output port. Counts, MACs and constructor arguments always get tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from designer.core.forms import Functional, TorchModule
from designer.core.params import Param, ParamError
from designer.core.rules import ShapeRule, TensorRule, shape_rule_of, tensor_rule_of
from designer.core.shapes import Shape
from designer.core.tensor import FLOATING

Counter = Callable[[Mapping[str, Any], list[Shape]], int]


MacCounter = Callable[[Mapping[str, Any], list[Shape], list[Shape]], int]
OnnxCheck = Callable[[Mapping[str, Any], list[Shape]], "tuple[str, str] | None"]
OutputCount = Callable[[Mapping[str, Any]], int]
MAX_OUTPUTS = 64  # output ports of a block whose parameters set how many it has


def no_params(params: Mapping[str, Any], shapes: list[Shape]) -> int:
    """Parameter count of a block without weights."""
    return 0


def no_macs(params: Mapping[str, Any], in_shapes: list[Shape], out_shapes: list[Shape]) -> int:
    """Multiply-accumulates of a block that does no weighted sums (element-wise work is free)."""
    return 0


@dataclass(frozen=True)
class BlockSpec:
    """One block type. Variadic blocks repeat their single input port: ``in1``, ``in2``, ...

    ``optional_inputs`` names input ports that may stay unwired; they follow the required ones
    and are passed by keyword, named after the port (``self.attn(x, attn_mask=mask)``), so an
    optional port is named as the torch call's parameter. ``outputs`` may name several ports,
    each with its own spec. ``infer`` is the tensor rule validation calls (derived).

    ``output_count``, when set, makes the output ports follow the parameters: a node has ports
    ``out1`` ... ``outK``, one per result of its rule (at most :data:`MAX_OUTPUTS`), and before
    validation the count its resolved parameters predict (its input may change it).
    """

    name: str
    category: str
    doc: str
    shape: ShapeRule | None = None  # classic rule over tuples; derived from tensor_rule if unset
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
    tensor_rule: TensorRule | None = None  # opt in: a rule over TensorSpecs
    optional_inputs: tuple[str, ...] = ()
    output_count: OutputCount | None = None
    dtypes: tuple[str, ...] = FLOATING  # input dtypes a classic shape rule accepts
    param_index: dict[str, Param] = field(init=False, repr=False, compare=False)
    infer: TensorRule = field(init=False, repr=False, compare=False)
    port_sets: tuple[frozenset, frozenset] = field(init=False, repr=False, compare=False)
    _defaults: dict[str, Any] = field(init=False, repr=False, compare=False)
    _variadic_ports: dict[int, frozenset] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "param_index", {p.name: p for p in self.params})
        object.__setattr__(self, "_defaults", {p.name: p.default for p in self.params})
        outputs = _numbered(MAX_OUTPUTS) if self.output_count else self.outputs
        object.__setattr__(self, "port_sets", (frozenset(self.inputs), frozenset(outputs)))
        if self.tensor_rule is not None:
            object.__setattr__(self, "infer", self.tensor_rule)
            if self.shape is None:
                object.__setattr__(self, "shape", shape_rule_of(self.tensor_rule))
        elif self.shape is not None:
            object.__setattr__(self, "infer", tensor_rule_of(self.shape, self.name, self.dtypes))
        else:
            raise ValueError(f"block type {self.name!r} needs a shape rule or a tensor rule")
        unknown = set(self.optional_inputs) - set(self.inputs)
        required = self.required_inputs
        if (
            unknown
            or (self.variadic and self.optional_inputs)
            or self.inputs[: len(required)] != required
        ):
            raise ValueError(
                f"block type {self.name!r}: bad optional inputs {list(self.optional_inputs)} "
                "(known ports, after the required ones)"
            )

    @property
    def declared_rule(self) -> Callable:
        """The rule the block declared (tensor or shape): its module names the block's family."""
        return self.tensor_rule if self.tensor_rule is not None else self.shape

    @property
    def required_inputs(self) -> tuple[str, ...]:
        """The input ports that must be wired (not variadic ones: see ``min_inputs``)."""
        return tuple(p for p in self.inputs if p not in self.optional_inputs)

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default value."""
        return {p.name: p.default for p in self.params}

    def resolve(
        self, raw: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, ParamError]]]:
        """Defaults overlaid with ``raw``, each value coerced; errors are returned, not raised."""
        values = dict(self._defaults)
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

    def variadic_ports(self, count: int) -> frozenset:
        """The names of a variadic block's first ``count`` input ports."""
        found = self._variadic_ports.get(count)
        if found is None:
            found = self._variadic_ports[count] = frozenset(self.input_ports(count - 1)[:count])
        return found

    def output_ports(self, values: Mapping[str, Any] | None = None, count: int = 0) -> tuple:
        """A node's output ports: ``count`` of them (its rule's results), else as many as its
        resolved parameters ``values`` predict (defaults when None)."""
        if self.output_count is None:
            return self.outputs
        count = count or self.output_count(self._defaults if values is None else values)
        return _numbered(min(max(count, 1), MAX_OUTPUTS))

    def port_index(self, port: str) -> int | None:
        """Position of an input port, or None if the block has no such port."""
        if not self.variadic:
            return self.inputs.index(port) if port in self.inputs else None
        prefix = self.inputs[0]
        digits = port[len(prefix) :]
        if port.startswith(prefix) and digits.isdigit() and digits[0] != "0":
            return int(digits) - 1
        return None


@cache
def _numbered(count: int) -> tuple[str, ...]:
    return tuple(f"out{i}" for i in range(1, count + 1))


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
        self.version = 0  # counts changes, so that memos know when a type may mean another spec

    def add(self, spec: BlockSpec) -> BlockSpec:
        if spec.name in self._specs:
            raise ValueError(f"block type {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        self.version += 1
        return spec

    def discard(self, name: str) -> None:
        """Forget a block type (tests register blocks of their own for a while)."""
        if self._specs.pop(name, None) is not None:
            self.version += 1

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
    "Attention",
    "Embedding",
    "Recurrent",
    "Tensor",
    "Regularization",
    "Resize",
    "Merge",
    "Utility",
)  # palette order; other categories follow
REGISTRY = Registry()  # filled by importing designer.blocks (the families and the library)
register = REGISTRY.add
