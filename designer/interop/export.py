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
version and
   the SHA-256 of the design's canonical JSON;
6. unless told not to, ``onnx.checker`` (full check) and onnxruntime run on random input, compared
   with torch (:mod:`designer.interop.parity`); with dynamic axes at two different sizes;
7. only a model that passed is written, atomically: a temporary file in the same folder renamed
   over the target, so an existing file is either kept whole or replaced whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from designer.core.atomicfile import atomic_write, target_status
from designer.core.fileformat import DesignFileError, dumps, load
from designer.core.graph import Design
from designer.core.validate import Report, validate
from designer.interop.dynamic_axes import (
    AxisError,
    dynamic_axes,
    require_dynamic,
    trace_shapes,
    varied_shapes,
)
from designer.interop.onnx_graph import op_counts, sanitize, tidy, unique_names
from designer.interop.parity import (
    DEFAULT_TOLERANCE,
    Parity,
    VerificationError,
    check,
    compare,
    session,
)
from designer.live.weights import WeightsError, load_weights

MIN_OPSET = 18  # torch's exporter writes opset 18 and newer; older requests are silently ignored
QUIET_LOGGERS = ("torch.onnx", "torch.export", "torch._dynamo", "torch.fx", "onnxscript")


class ExportError(Exception):
    """An export that cannot go on. ``status`` is the CLI's exit code; ``report`` is set for an
    invalid design and ``parity`` for a model whose outputs disagree with torch's."""

    def __init__(
        self,
        message: str,
        status: int = 1,
        report: Report | None = None,
        parity: Sequence[Parity] = (),
    ) -> None:
        super().__init__(message)
        self.status, self.report, self.parity = status, report, list(parity)


@dataclass
class ExportResult:
    """What was written and what the checks found."""

    path: Path
    inputs: list[str]
    outputs: list[str]
    opset: int
    ops: Counter
    size: int  # bytes
    seconds: float  # torch.onnx.export and tidying, without the checks
    design_sha256: str
    weights: int = 0  # tensors loaded from a weights file
    checked: bool = False  # onnx.checker passed
    parity: list[Parity] = field(default_factory=list)

    @property
    def nodes(self) -> int:
        return sum(self.ops.values())

    def summary(self) -> str:
        """``53 nodes: Conv 19, Relu 18, ...``."""
        ops = ", ".join(f"{op} {n}" for op, n in self.ops.most_common())
        return f"{self.nodes} nodes: {ops}"


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
        axes = dynamic_axes(shapes, dynamic)
        sizes = [shapes, varied_shapes(design, shapes, axes)] if axes and verify else [shapes]
    except AxisError as exc:
        raise ExportError(str(exc), exc.status) from None
    check_memory(design, sizes, verify)
    model, loaded = _live_model(design, shapes, weights)
    result, payload = _export(design, model, shapes, axes, opset, seed, target)
    result.weights = loaded
    if verify:
        _verify(result, payload, model, sizes, tolerance, seed)
    _write(target, payload)
    return result


def _export(design, model, shapes, axes, opset, seed, target) -> tuple[ExportResult, bytes]:
    """Export, tidy and serialize; the result describes the graph (no checks yet)."""
    names = boundary_names(design)
    start = time.perf_counter()
    example = tuple(random_inputs(trace_shapes(shapes, axes), seed).values())
    proto = _to_onnx(model, example, list(shapes), names, axes, opset)
    try:
        require_dynamic(proto, [axes.get(node, {}) for node in shapes])
    except AxisError as exc:
        raise ExportError(str(exc)) from None
    _stamp(proto, design)
    seconds = time.perf_counter() - start
    payload = _serialize(proto)
    written = _opset(proto)
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
    return result, payload


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


def _check_exportable(design: Design, report: Report, prefix: str = "") -> None:
    """Refuse, naming the node, what the registry says torch's ONNX exporter cannot write."""
    for node_id, info in report.nodes.items():
        spec = design.spec(info.block)
        if spec.composite is not None:
            inner = spec.composite.instantiate(info.values, list(info.in_shapes))
            _check_exportable(inner.body, inner.report, f"{prefix}{node_id}/")
        elif spec.onnx is not None:
            problem = spec.onnx(info.values, list(info.in_shapes))
            if problem is not None:
                raise ExportError(f"{info.block} `{prefix}{node_id}`: {problem[0]}; {problem[1]}")


def boundary_names(design: Design) -> tuple[list[str], list[str]]:
    """ONNX input and output names from the Input and Output labels (sanitized, distinct)."""
    nodes = design.nodes_of_type("Input") + design.nodes_of_type("Output")
    names = unique_names(sanitize(design.node(n)["label"], n) for n in nodes)
    split = len(design.nodes_of_type("Input"))
    return names[:split], names[split:]


def random_inputs(shapes: Mapping[str, tuple[int, ...]], seed: int) -> dict[str, Any]:
    """Standard-normal float32 tensors, reproducible from ``seed``."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=generator) for k, s in shapes.items()}


# -- model and export ---------------------------------------------------------------------------


def check_memory(
    design: Design, sizes: Sequence[Mapping[str, tuple[int, ...]]], verify: bool = True
) -> None:
    """Refuse, before anything is built, a model too large for one ONNX file (protobuf's 2 GiB)
    or for this machine's free memory (:func:`designer.core.memory.export_estimate`)."""
    from designer.core.memory import available_bytes, export_estimate, shortfall, too_large_for_onnx

    reports = [validate(design, dict(shapes)) for shapes in sizes]
    problem = too_large_for_onnx(reports[0])
    if problem is not None:
        raise ExportError(problem)
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
        model = build(design, device="cpu", input_shapes=dict(shapes))
    except ValueError as exc:  # PlanError: something validation passed but the builder cannot do
        raise ExportError(f"cannot build the model: {exc}") from None
    loaded = 0
    if weights is not None:
        try:
            loaded = load_weights(model, weights)
        except WeightsError as exc:
            raise ExportError(str(exc), status=exc.status) from None
    return model.eval(), loaded


def _to_onnx(model, example, order, names, axes, opset) -> Any:
    """torch.onnx.export (dynamo) with named inputs, outputs and dynamic axes, quietly.

    ``order`` lists the Input node ids in the model's argument order (the design's order)."""
    import torch

    inputs, outputs = names
    dims: dict[str, Any] = {}
    specs = [
        {axis: dims.setdefault(name, torch.export.Dim(name)) for axis, name in axes[node].items()}
        if node in axes
        else None
        for node in order
    ]
    dynamic = (tuple(specs),) if any(specs) else None  # the live model's forward takes *inputs
    try:
        with quiet_exporter():
            program = torch.onnx.export(
                model,
                example,
                dynamo=True,
                input_names=inputs,
                output_names=outputs,
                opset_version=opset,
                dynamic_shapes=dynamic,
                optimize=True,
                verbose=False,
            )
    except Exception as exc:  # the exporter raises many types; all mean the same to a user
        raise ExportError(f"torch.onnx.export failed: {_exporter_summary(exc)}") from exc
    return program.model_proto


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """Silence the exporter's warnings and log chatter (they would bury the result lines)."""
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    try:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _exporter_summary(exc: Exception) -> str:
    """The useful lines of an exporter error: its 'Exception summary' section, else line one."""
    text = str(exc)
    marker = "## Exception summary"
    if marker in text:
        body = text.split(marker, 1)[1].strip().split("\n\n")[0]
        return " ".join(line.strip() for line in body.splitlines() if line.strip())[:600]
    return (text.strip().splitlines() or [type(exc).__name__])[0][:600]


def design_hash(design: Design) -> str:
    """SHA-256 of the design's canonical JSON (the saved file's bytes)."""
    return hashlib.sha256(dumps(design).encode("utf-8")).hexdigest()


def _stamp(proto: Any, design: Design) -> None:
    """Tidy names and metadata; record which design and designer version made the model."""
    from designer.core.version import __version__

    tidy(
        proto,
        graph_name=sanitize(design.name, "model"),
        doc=f"{design.name}, exported by torch-designer {__version__}",
        metadata={
            "designer.version": __version__,
            "designer.design": design.name,
            "designer.design_sha256": design_hash(design),
        },
    )


def _opset(proto: Any) -> int:
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)


def _serialize(proto: Any) -> bytes:
    try:
        return proto.SerializeToString()
    except ValueError as exc:  # protobuf refuses messages of 2 GiB and more
        raise ExportError(
            f"the model is too large for a single ONNX file (2 GiB at most): {exc}; "
            "exporting weights to a separate data file is not supported yet"
        ) from None


# -- checks and writing -------------------------------------------------------------------------


def _verify(result, payload, model, sizes, tolerance, seed) -> None:
    """onnx.checker, then onnxruntime against torch at each set of input shapes (random
    inputs drawn from ``seed + 1``, ``seed + 2``...)."""
    try:
        check(payload)
        result.checked = True
        runtime = session(payload)
    except VerificationError as exc:
        raise ExportError(f"{exc}; nothing was written") from None
    for draw, shapes in enumerate(sizes, start=seed + 1):
        named = dict(zip(result.inputs, shapes.values(), strict=True))
        result.parity.append(compare(model, runtime, random_inputs(named, draw), tolerance))
    failed = [p for p in result.parity if not p.ok]
    if failed:
        raise ExportError(
            f"onnxruntime disagrees with torch beyond {tolerance:.0e}; nothing was written "
            "(--no-verify writes it anyway)",
            parity=result.parity,
        )


def writable_target(path: str | os.PathLike) -> Path:
    """The output path, if it can be written: checked before any slow work (exit status 2).

    A symlink is checked where it points; a device such as /dev/null needs only write access."""
    target = Path(path)
    try:
        info = target_status(target)
    except DesignFileError as exc:
        raise ExportError(str(exc), 2) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ExportError(f"{str(target)!r} is a folder; give a file name such as model.onnx", 2)
    if info is not None and not stat.S_ISREG(info.st_mode):
        if not os.access(target, os.W_OK):
            raise ExportError(f"cannot write {str(target)!r}: no permission to write it", 2)
        return target
    folder = Path(os.path.realpath(target)).parent
    if not folder.is_dir():
        raise ExportError(
            f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist; create it first",
            2,
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(
            f"cannot write {str(target)!r}: no permission to write in folder {str(folder)!r}", 2
        )
    return target


def _write(target: Path, payload: bytes) -> None:
    """Atomic replace; any failure leaves an existing file as it was (exit status 2)."""
    try:
        atomic_write(target, payload)
    except DesignFileError as exc:
        raise ExportError(str(exc), 2) from None
    except PermissionError:
        folder = Path(os.path.realpath(target)).parent
        raise ExportError(
            f"cannot write {str(target)!r}: permission denied in folder {str(folder)!r}", 2
        ) from None
    except OSError as exc:
        raise ExportError(
            f"cannot write {str(target)!r}: {exc.strerror or exc}; "
            "an existing file there is unchanged",
            2,
        ) from None
