"""ONNX export of a design, verified against onnxruntime before it is written.

The steps, each failing with a message a user can act on (:class:`ExportError`, with an exit
status: 1 for a design or model problem, 2 for a file problem):

1. the output path is checked first (its folder exists and is writable), before any slow work;
2. the design is validated; an invalid one exports nothing and its issues are returned;
3. the live model (:func:`designer.build`) is built on the CPU in eval mode, trained weights loaded
   strictly when given;
4. torch's current exporter (``torch.onnx.export(..., dynamo=True)``, backed by onnxscript, which
   folds batch norm into the convolutions and removes dead nodes) writes the graph, with input and
   output names taken from the design's Input and Output labels and, on request, named dynamic axes;
5. the graph is tidied (see :mod:`designer.interop.onnx_graph`) and stamped with the designer
   version and the SHA-256 of the design's canonical JSON (:mod:`designer.interop.provenance`);
6. unless told not to, ``onnx.checker`` (full check) and onnxruntime run on random input, compared
   with torch (:mod:`designer.interop.parity`); with dynamic axes at two different sizes;
7. only a model that passed is written, atomically: a temporary file in the same folder renamed
   over the target, so an existing file is either kept whole or replaced whole
   (:mod:`designer.interop.target`). Weights over protobuf's 2 GiB limit go to a side file,
   ``model.onnx.data`` (ONNX external data, :mod:`designer.interop.external`), written first.

A placed design (device tags, stages) is exported as one graph: the placement is ignored, and the
result's notes say so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from designer.core.fileformat import DesignFileError, load
from designer.core.graph import Design
from designer.core.validate import Report, validate
from designer.core.walk import walk
from designer.interop.dynamic_axes import (
    AxisError,
    batch_axes,
    dynamic_axes,
    require_dynamic,
    trace_shapes,
    varied_shapes,
)
from designer.interop.exporter import serialize, to_onnx, written_opset
from designer.interop.external import (
    check_side_file_target,
    data_path,
    externalize,
    needs_external,
    note,
    structure_of,
)
from designer.interop.onnx_graph import op_counts, sanitize, unique_names
from designer.interop.parity import (
    DEFAULT_TOLERANCE,
    VerificationError,
    check,
    compare,
    session,
)
from designer.interop.provenance import design_hash, stamp
from designer.interop.result import ExportError, ExportResult
from designer.interop.target import writable_target, write_atomically
from designer.live.placed import is_placed
from designer.live.weights import WeightsError, load_weights

__all__ = ["MIN_OPSET", "ExportError", "ExportResult", "export_onnx"]

MIN_OPSET = 18  # torch's exporter writes opset 18 and newer; older requests are silently ignored
PLACEMENT_IGNORED = (
    "placement ignored: an ONNX file is one graph for one device (the design's device tags and "
    "stages apply to the live model and the generated code)"
)


def export_onnx(
    design: Design | str | os.PathLike,
    path: str | os.PathLike,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    opset: int | None = None,
    dynamic: Sequence[str] = (),
    weights: str | os.PathLike | None = None,
    verify: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> ExportResult:
    """Export ``design`` (a Design or a design file) to the ONNX file ``path``.

    ``input_shapes`` maps Input node ids to full shapes (batch included; default: the Input's own
    shape with batch 1); ``dynamic`` names axes left free in the graph (``batch``, ``height``,
    ``width``, ``depth``, ``length``); ``weights`` is a ``.pt``/``.pth`` state dict or a
    ``.safetensors`` file. ``verify`` runs onnx.checker and compares onnxruntime with torch on
    random inputs (drawn from ``seed``), failing beyond the relative error ``tolerance``.
    Raises :class:`ExportError`; nothing is written unless it succeeds.
    """
    design = design if isinstance(design, Design) else _load(design)
    target = writable_target(path)
    if opset is not None and opset < MIN_OPSET:
        raise ExportError(
            f"opset {opset} is too old: the exporter writes opset {MIN_OPSET} or newer", 2
        )
    shapes = example_shapes(design, input_shapes)
    try:
        axes = dynamic_axes(shapes, dynamic, batch_axes(design))
        sizes = [shapes, varied_shapes(design, shapes, axes)] if axes and verify else [shapes]
    except AxisError as exc:
        raise ExportError(str(exc), exc.status) from None
    check_memory(design, sizes, verify)
    model, loaded = _live_model(design, shapes, weights)
    result, payload, data = _export(design, model, shapes, axes, opset, seed, target)
    result.weights = loaded
    if verify:
        _verify(result, payload, data, model, sizes, tolerance, seed, input_kinds(design))
    if data is not None:
        write_atomically(result.data_path, data)  # first: the model never names missing data
    write_atomically(target, payload)
    return result


def _export(design, model, shapes, axes, opset, seed, target) -> tuple:
    """Export, tidy and serialize: the result describing the graph (no checks yet), the model's
    bytes and its external data (None when the weights fit in the model file)."""
    names = boundary_names(design)
    start = time.perf_counter()
    kinds = input_kinds(design)
    example = tuple(random_inputs(trace_shapes(shapes, axes), seed, kinds).values())
    proto = to_onnx(model, example, list(shapes), names, axes, opset)
    try:
        require_dynamic(proto, [axes.get(node, {}) for node in shapes])
    except AxisError as exc:
        raise ExportError(str(exc)) from None
    stamp(proto, design)
    data = None
    if needs_external(proto):
        check_side_file_target(target)
        data = externalize(proto, data_path(target).name)
    seconds = time.perf_counter() - start
    payload = serialize(proto)
    written = written_opset(proto)
    if opset is not None and written != opset:
        raise ExportError(f"the exporter could not write opset {opset} (it wrote {written})")
    result = ExportResult(
        path=target,
        inputs=names[0],
        outputs=names[1],
        opset=written,
        ops=op_counts(proto),
        size=len(payload),
        seconds=seconds,
        design_sha256=design_hash(design),
    )
    if is_placed(design):
        result.notes.append(PLACEMENT_IGNORED)
    if data is not None:
        result.data_path, result.data_size = data_path(target), len(data)
        result.notes.append(note(target, len(data)))
    return result, payload, data


# -- inputs, names, axes ------------------------------------------------------------------------


def _load(path: str | os.PathLike) -> Design:
    try:
        return load(path)
    except DesignFileError as exc:
        raise ExportError(str(exc), status=2) from None


def example_shapes(
    design: Design, overrides: Mapping[str, Sequence[int]] | None = None
) -> dict[str, tuple[int, ...]]:
    """Full shapes (batch included) of every Input, in the model's argument order; validates."""
    overrides = {k: tuple(v) for k, v in (overrides or {}).items()}
    inputs = design.nodes_of_type("Input")
    unknown = sorted(set(overrides) - set(inputs))
    if unknown:
        raise ExportError(
            f"no Input named {unknown[0]!r}; inputs: {', '.join(inputs) or 'none'}", status=2
        )
    report = validate(design, overrides)
    if not report.ok:
        count = len(report.errors)
        raise ExportError(
            f"the design has {count} error{'s' * (count != 1)}; nothing was exported",
            report=report,
        )
    _check_exportable(design, report)
    return {
        node: tuple(1 if d is None else d for d in report.nodes[node].out_shapes[0])
        for node in inputs
    }


def _check_exportable(design: Design, report: Report) -> None:
    """Refuse, naming the node, what the registry says torch's ONNX exporter cannot write."""
    for visit in walk(design, report, enter=True):
        if visit.spec.onnx is not None:
            problem = visit.spec.onnx(visit.values, visit.in_shapes)
            if problem is not None:
                raise ExportError(f"{visit.spec.name} `{visit.path}`: {problem[0]}; {problem[1]}")


def boundary_names(design: Design) -> tuple[list[str], list[str]]:
    """ONNX input and output names from the Input and Output labels (sanitized, distinct)."""
    nodes = design.nodes_of_type("Input") + design.nodes_of_type("Output")
    names = unique_names(sanitize(design.node(n)["label"], n) for n in nodes)
    split = len(design.nodes_of_type("Input"))
    return names[:split], names[split:]


def random_inputs(
    shapes: Mapping[str, tuple[int, ...]], seed: int, kinds: Sequence[tuple[str, int]] = ()
) -> dict[str, Any]:
    """Random inputs reproducible from ``seed``; ``kinds`` gives each one's (dtype, id bound)
    in order (default: standard-normal float32)."""
    import torch

    from designer.live.inputs import example_tensor

    generator = torch.Generator().manual_seed(seed)
    kinds = list(kinds) or [("float32", 2)] * len(shapes)
    return {
        k: example_tensor(s, dtype, high=high, generator=generator)
        for (k, s), (dtype, high) in zip(shapes.items(), kinds, strict=True)
    }


def input_kinds(design: Design) -> list[tuple[str, int]]:
    """Each Input's (dtype, bound on the ids it feeds), in the model's argument order."""
    from designer.live.inputs import token_bound

    return [
        (design.node(n)["params"].get("dtype", "float32"), token_bound(design, n))
        for n in design.nodes_of_type("Input")
    ]


# -- model and checks ---------------------------------------------------------------------------


def check_memory(
    design: Design, sizes: Sequence[Mapping[str, tuple[int, ...]]], verify: bool = True
) -> None:
    """Refuse, before anything is built, an export too large for this machine's free memory
    (:func:`designer.core.memory.export_estimate`)."""
    from designer.core.memory import available_bytes, export_estimate, shortfall

    reports = [validate(design, dict(shapes)) for shapes in sizes]
    need = max((export_estimate(design, r, verify) for r in reports), key=lambda e: e.total)
    problem = shortfall(need, available_bytes(), "this machine")
    if problem is not None:
        raise ExportError(
            f"not enough memory to export: {problem}; nothing was built "
            "(a smaller --input-shape, or --no-verify, needs less)"
        )


def _live_model(
    design: Design, shapes: Mapping[str, tuple[int, ...]], weights: str | os.PathLike | None
) -> tuple[Any, int]:
    """The design's live model on the CPU in eval mode, with weights loaded strictly."""
    from designer.live.model import build

    try:
        model = build(design, device="cpu", input_shapes=dict(shapes), placed=False)
    except ValueError as exc:  # PlanError: something validation passed but the builder cannot do
        raise ExportError(f"cannot build the model: {exc}") from None
    loaded = 0
    if weights is not None:
        try:
            loaded = load_weights(model, weights)
        except WeightsError as exc:
            raise ExportError(str(exc), status=exc.status) from None
    return model.eval(), loaded


def _verify(result, payload, data, model, sizes, tolerance, seed, kinds) -> None:
    """onnx.checker, then onnxruntime against torch at each set of input shapes (random
    inputs drawn from ``seed + 1``, ``seed + 2``...); external ``data`` read from memory."""
    try:
        check(payload if data is None else structure_of(payload))
        result.checked = True
        runtime = (
            session(payload) if data is None else session(payload, {result.data_path.name: data})
        )
    except VerificationError as exc:
        raise ExportError(f"{exc}; nothing was written") from None
    for draw, shapes in enumerate(sizes, start=seed + 1):
        named = dict(zip(result.inputs, shapes.values(), strict=True))
        try:
            parity = compare(model, runtime, random_inputs(named, draw, kinds), tolerance)
        except VerificationError as exc:
            raise ExportError(
                f"{exc}; nothing was written (--no-verify writes it anyway)"
            ) from None
        result.parity.append(parity)
    failed = [p for p in result.parity if not p.ok]
    if failed:
        raise ExportError(
            f"onnxruntime disagrees with torch beyond {tolerance:.0e}; nothing was written "
            "(--no-verify writes it anyway)",
            parity=result.parity,
        )
