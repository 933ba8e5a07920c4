"""``import_torch``: a live ``nn.Module`` -> an editable design, its weights, and a report.

The steps, one module each: trace (``tracer``, shapes on the meta device in ``values``; when fx
cannot trace the model, torch.export and its unflattened module tree in ``exported``), classify
every node (``classify``, ``modules``, ``calls``, ``functions``, ``tensorops``, ``padmatch``),
cut the graph into one body per module call (``scopes``; a module around an op no block
expresses is kept whole when it rebuilds, ``fallback``), merge bodies of a class into one
composite block with declared parameters (``definitions``, ``variants``, ``declare``) and fold
runs of identical instances into repeat nodes (``repeats``), write the design (``assemble``),
validate it, and move the weights to the live model's keys (``weights``; the keys are read from
the plan, ``livekeys``).
``import_exported`` imports a ``torch.export`` program (a ``.pt2`` file) the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.export import ExportedProgram

from designer.core.validate import validate
from designer.interop.importer.assemble import assemble
from designer.interop.importer.classify import Context
from designer.interop.importer.definitions import define_blocks, root_blueprint
from designer.interop.importer.devices import place
from designer.interop.importer.exported import Unflattened, unflatten
from designer.interop.importer.fallback import (
    keep_modules,
    kept_block_registered,
    settle,
    unregistered,
)
from designer.interop.importer.mapped import Opaque
from designer.interop.importer.modules import Unsupported
from designer.interop.importer.result import ImportFailed, ImportResult
from designer.interop.importer.scopes import cut
from designer.interop.importer.tracer import Trace, TraceFailed, trace
from designer.interop.importer.weights import remap_weights
from designer.live.placed import is_placed


@dataclass
class _Source:
    """What is imported: the module whose weights are read, its name, how it was traced."""

    module: nn.Module
    model: str  # the class name, for messages
    qualified: str  # module-qualified, for the report
    traced: Trace
    notes: list[str] = field(default_factory=list)


def _inputs(example_inputs) -> tuple[torch.Tensor, ...]:
    inputs = (
        (example_inputs,) if isinstance(example_inputs, torch.Tensor) else tuple(example_inputs)
    )
    if not inputs or not all(isinstance(x, torch.Tensor) and x.dim() >= 2 for x in inputs):
        raise TypeError("example_inputs must be tensors with a batch dimension (N, ...)")
    return inputs


def _bodies(source: _Source, inputs: tuple):
    """Cut the trace: the model's body, the notes and what is kept as an opaque call. A module
    holding an op no block expresses is kept whole when it rebuilds (an op that fails because an
    inner one did is cut again once that one is kept); ImportFailed lists the ops no module
    around them covers."""
    ctx = Context(source.traced)
    root, opaque = cut(ctx)
    notes = source.notes + source.traced.branches
    kept: dict = {}
    while opaque:
        more, left = keep_modules(source.module, source.traced.scopes, inputs, opaque, kept)
        if not more:
            raise ImportFailed(source.model, left, notes + ctx.notes)
        kept.update((k.path, k) for k in more)
        settle(source.traced, more)
        ctx = Context(source.traced)
        root, opaque = cut(ctx, kept)
    if kept and not kept_block_registered():
        raise ImportFailed(source.model, [unregistered(k) for k in kept.values()], notes)
    return root, notes + ctx.notes, ctx.kept + [k.record for k in kept.values()]


def _design(root, name: str, model: str, notes: list[str]):
    """The design with its composite blocks, and its validation report (which must be ok)."""
    try:
        blueprints = define_blocks(root)
    except Unsupported as exc:
        raise ImportFailed(model, [Opaque("", "module classes", str(exc))], notes) from exc
    design = assemble(root_blueprint(root, name), blueprints, category=model)
    report = validate(design)
    if not report.ok:
        issues = [Opaque(i.node or "", i.block or "design", i.message) for i in report.errors]
        raise ImportFailed(model, issues, notes)
    return design, blueprints, report


def _import(source: _Source, inputs: tuple, name: str | None, start: float) -> ImportResult:
    root, notes, kept = _bodies(source, inputs)
    design, blueprints, report = _design(root, name or source.model, source.model, notes)
    notes += place(design, root, source.traced, source.module, inputs)  # device tags
    # a placed design is validated again (its tags are new since the report)
    known = None if is_placed(design) else report
    state, unused = remap_weights(source.module, root, design, known)
    ports = design.nodes_of_type("Input") + design.nodes_of_type("Output")
    return ImportResult(
        design=design,
        state_dict=state,
        opaque=kept,
        model=source.qualified,
        blocks=blueprints,
        notes=notes,
        unused_weights=unused,
        design_params=report.total_params,
        module_params=sum(p.numel() for p in source.module.parameters()),
        shapes={n: report.nodes[n].shape for n in ports},
        seconds=time.perf_counter() - start,
    )


def _exported(module: nn.Module, inputs: tuple, failed: TraceFailed) -> _Source:
    """The fallback: torch.export traces what fx could not. ImportFailed names fx's failure
    (and export's) when it cannot either."""
    model = type(module).__name__
    try:
        program = torch.export.export(module, inputs, strict=False)
        flat = unflatten(program, module)
        traced = trace(flat.module, inputs, flat)
    except Exception as exc:  # export's own errors are many; fx's failure comes first
        reason = f"{failed.error}; torch.export could not either: {type(exc).__name__}"
        opaque = [Opaque(failed.path, "tracing", reason, failed.cls)]
        raise ImportFailed(model, opaque, [f"torch.export: {str(exc)[:300]}"]) from exc
    note = f"torch.fx could not trace it ({failed}), so torch.export did: sizes are the example's"
    qualified = f"{type(module).__module__}.{model}"
    return _Source(flat.module, model, qualified, traced, [note])


def import_torch(module: nn.Module, example_inputs, *, name: str | None = None) -> ImportResult:
    """Import ``module`` called as ``module(*example_inputs)`` (a tensor or a tuple of them).

    The inputs give the Input shapes (their first dimension is the batch and stays symbolic) and
    are read for their shapes only. Raises :class:`ImportFailed` listing every operation the
    block vocabulary cannot express (module path, op, reason), or a design that does not validate.
    """
    start = time.perf_counter()
    inputs = _inputs(example_inputs)
    model = type(module).__name__
    try:
        traced = trace(module, inputs)
        source = _Source(module, model, f"{type(module).__module__}.{model}", traced)
    except TraceFailed as exc:
        source = _exported(module, inputs, exc)
    return _import(source, inputs, name, start)


def import_exported(
    program: ExportedProgram, example_inputs=None, *, name: str | None = None
) -> ImportResult:
    """Import a ``torch.export`` program (``torch.export.load`` reads a ``.pt2`` file), called
    on ``example_inputs`` (default: the program's own example inputs). Its ``torch.nn`` layers
    are rebuilt from their calls and its own classes come back as blocks of the same names."""
    start = time.perf_counter()
    if example_inputs is None:
        if not program.example_inputs:
            raise TypeError("the program keeps no example inputs: give example_inputs")
        args, kwargs = program.example_inputs
        example_inputs = (*args, *kwargs.values())
    inputs = _inputs(example_inputs)
    flat: Unflattened = unflatten(program)
    model = flat.model.rpartition(".")[2] or "Exported"
    try:
        traced = trace(flat.module, inputs, flat)
    except TraceFailed as exc:
        opaque = [Opaque(exc.path, "tracing", str(exc.error), exc.cls)]
        raise ImportFailed(model, opaque) from exc
    return _import(_Source(flat.module, model, flat.model, traced), inputs, name, start)
