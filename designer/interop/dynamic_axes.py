"""Dynamic axes for ONNX export: which input axes are free, and a second size to check them at.

A name (``batch``, ``depth``, ``height``, ``width``, ``length``) picks the same axis on every input
that has it (``height`` is axis 2 of a 4-D input, axis 3 of a 5-D one) and the inputs share it. A
dynamic axis is only honest if the design gives the same model at another size: validation must
pass there, and the weights must keep their shapes (a Linear after a Flatten ties the height and
width to the size it was built for). :func:`varied_shapes` finds such a size, or says which axis
cannot vary and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from designer.core.graph import Design
from designer.core.tensor import BATCH
from designer.core.validate import validate

SPATIAL_AXES = {3: ("length",), 4: ("height", "width"), 5: ("depth", "height", "width")}
AXIS_NAMES = ("batch", "depth", "height", "width", "length")
SPATIAL_TRIES = (  # other sizes for a dynamic spatial axis, cheapest first
    lambda s: s // 2 + 1,
    lambda s: s + 1,
    lambda s: s - 1,
    lambda s: s * 2,
)


class AxisError(Exception):
    """A dynamic axis that cannot be: ``status`` 2 for a bad request, 1 for the design's limits."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def batch_axes(design: Design) -> dict[str, int]:
    """Input id -> the axis its batch N sits on (0 unless its shape puts N elsewhere)."""
    found = {}
    for node in design.nodes_of_type("Input"):
        sizes = list(design.node(node)["params"].get("shape", ()))
        found[node] = sizes.index(BATCH) if BATCH in sizes else 0
    return found


def dynamic_axes(
    shapes: Mapping[str, tuple[int, ...]],
    names: Sequence[str],
    batch: Mapping[str, int] | None = None,
) -> dict[str, dict[int, str]]:
    """Input id -> {axis: name} for the requested dynamic axes; an axis no input has is an error.
    ``batch`` gives each input's batch axis (default 0)."""
    batch = batch or {}
    axes: dict[str, dict[int, str]] = {node: {} for node in shapes}
    for name in dict.fromkeys(names):
        if name not in AXIS_NAMES:
            raise AxisError(f"unknown dynamic axis {name!r}; use {', '.join(AXIS_NAMES)}", status=2)
        found = False
        for node, shape in shapes.items():
            axis = batch.get(node, 0) if name == "batch" else _spatial_axis(name, len(shape))
            if axis is not None:
                axes[node][axis] = name
                found = True
        if not found:
            ranks = ", ".join(f"{n} is {len(s)}-D" for n, s in shapes.items())
            raise AxisError(f"no input has a {name} axis ({ranks})", status=2)
    return {node: a for node, a in axes.items() if a}


def _spatial_axis(name: str, rank: int) -> int | None:
    spatial = SPATIAL_AXES.get(rank, ())
    return 2 + spatial.index(name) if name in spatial else None


def varied_shapes(
    design: Design, shapes: Mapping[str, tuple[int, ...]], axes: Mapping[str, Mapping[int, str]]
) -> dict[str, tuple[int, ...]]:
    """Other sizes on every dynamic axis at which the design is valid with the same weights.

    Each axis is tried alone first, so that a message names the one that cannot vary (a Linear
    after a Flatten fixes the height and width, not the batch). Spatial sizes try about half (odd,
    to exercise padding), then one more, one less, double; the batch grows by one.
    """
    weights = weight_shapes(design, shapes)
    names = list(dict.fromkeys(n for a in axes.values() for n in a.values()))
    chosen: dict[str, int] = {}
    for name in names:
        problems = []
        for attempt in range(len(SPATIAL_TRIES)):
            problems.append(_size_problem(design, _varied(shapes, axes, {name: attempt}), weights))
            if problems[-1] is None:
                chosen[name] = attempt
                break
        else:
            problem = problems[0]
            raise AxisError(
                f"the design works only at the given {name} ({problem}); "
                f"leave {name} out of --dynamic"
            )
    trial = _varied(shapes, axes, chosen)
    problem = _size_problem(design, trial, weights)
    if problem:
        raise AxisError(f"the design does not work with {', '.join(names)} all changed ({problem})")
    return trial


def _varied(shapes, axes, attempts: Mapping[str, int]) -> dict[str, tuple[int, ...]]:
    """``shapes`` with each named axis changed by its attempt number (see :data:`SPATIAL_TRIES`)."""
    return {
        node: tuple(
            _vary(size, axes[node][axis], attempts[axes[node][axis]])
            if axes.get(node, {}).get(axis) in attempts
            else size
            for axis, size in enumerate(shape)
        )
        for node, shape in shapes.items()
    }


def _vary(size: int, name: str, attempt: int) -> int:
    """The batch grows by one; a spatial size takes the attempt's alternative (never itself)."""
    if name == "batch":
        return size + 1
    value = SPATIAL_TRIES[attempt](size)
    return value if value >= 1 and value != size else size + 1


def _size_problem(design, trial, weights) -> str | None:
    """Why the design cannot run at ``trial`` with the weights built for the given size."""
    report = validate(design, trial)
    if not report.ok:
        return str(report.errors[0])
    changed = _first_difference(weights, weight_shapes(design, trial))
    return None if changed is None else f"{changed} at {_shapes_text(trial)}"


def weight_shapes(design: Design, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, tuple]:
    """The state-dict shapes of the model built for ``shapes`` (on the meta device: no memory)."""
    import torch

    from designer.live.model import build

    with torch.device("meta"):
        model = build(design, device="meta", input_shapes=dict(shapes))
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _first_difference(want: Mapping[str, tuple], got: Mapping[str, tuple]) -> str | None:
    """The first weight whose shape differs, as text, or None."""
    for key in sorted(set(want) | set(got)):
        if want.get(key) != got.get(key):
            return f"{key} would be {_dims(got.get(key))} instead of {_dims(want.get(key))}"
    return None


def _dims(shape: tuple | None) -> str:
    return "absent" if shape is None else "x".join(map(str, shape)) or "a scalar"


def _shapes_text(shapes: Mapping[str, tuple[int, ...]]) -> str:
    return ", ".join(f"{n} {_dims(s)}" for n, s in shapes.items())


def trace_shapes(
    shapes: Mapping[str, tuple[int, ...]], axes: Mapping[str, Mapping[int, str]]
) -> dict[str, tuple[int, ...]]:
    """Shapes to trace at: a dynamic axis of size 1 becomes 2 (torch.export specializes size-1
    dimensions into constants)."""
    return {
        node: tuple(
            2 if size == 1 and axis in axes.get(node, {}) else size
            for axis, size in enumerate(shape)
        )
        for node, shape in shapes.items()
    }


def require_dynamic(proto: Any, axes: list[Mapping[int, str]]) -> None:
    """Every requested dynamic axis is symbolic in the graph (the exporter may specialize one)."""
    for value, wanted in zip(proto.graph.input, axes, strict=False):
        dims = value.type.tensor_type.shape.dim
        fixed = [name for axis, name in wanted.items() if not dims[axis].dim_param]
        if fixed:
            raise AxisError(
                f"the exporter fixed the {', '.join(fixed)} of input {value.name!r} to the traced "
                "size: the model's computation depends on it; leave it out of --dynamic"
            )
