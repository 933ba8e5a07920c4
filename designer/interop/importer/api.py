"""``import_torch``: a live ``nn.Module`` -> an editable design, its weights, and a report.

The steps, one module each: trace (``tracer``, shapes on the meta device in ``values``), classify
every node (``classify``, ``modules``, ``functions``, ``padmatch``), cut the graph into one body
per module call (``scopes``), merge bodies of a class into one composite block with declared
parameters (``definitions``, ``variants``, ``declare``), write the design (``assemble``), validate
it, and move the weights to the live model's keys (``weights``).
"""

from __future__ import annotations

import time

import torch
from torch import nn

from designer.core.validate import validate
from designer.interop.importer.assemble import assemble
from designer.interop.importer.classify import Context
from designer.interop.importer.definitions import define_blocks, root_blueprint
from designer.interop.importer.mapped import Opaque
from designer.interop.importer.modules import Unsupported
from designer.interop.importer.result import ImportFailed, ImportResult
from designer.interop.importer.scopes import cut
from designer.interop.importer.tracer import TraceFailed, trace
from designer.interop.importer.weights import remap_weights


def _inputs(example_inputs) -> tuple[torch.Tensor, ...]:
    inputs = (
        (example_inputs,) if isinstance(example_inputs, torch.Tensor) else tuple(example_inputs)
    )
    if not inputs or not all(isinstance(x, torch.Tensor) and x.dim() >= 2 for x in inputs):
        raise TypeError("example_inputs must be tensors with a batch dimension (N, ...)")
    return inputs


def _bodies(module: nn.Module, inputs: tuple, model: str):
    """Trace and cut: the model's body and the notes; ImportFailed lists what is opaque."""
    try:
        traced = trace(module, inputs)
    except TraceFailed as exc:
        raise ImportFailed(model, [Opaque(exc.path, "tracing", str(exc.error), exc.cls)]) from exc
    ctx = Context(traced)
    root, opaque = cut(ctx)
    notes = traced.branches + ctx.notes
    if opaque:
        raise ImportFailed(model, opaque, notes)
    return root, notes, ctx.kept


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


def import_torch(module: nn.Module, example_inputs, *, name: str | None = None) -> ImportResult:
    """Import ``module`` called as ``module(*example_inputs)`` (a tensor or a tuple of them).

    The inputs give the Input shapes (their first dimension is the batch and stays symbolic) and
    are read for their shapes only. Raises :class:`ImportFailed` listing every operation the
    block vocabulary cannot express (module path, op, reason), or a design that does not validate.
    """
    start = time.perf_counter()
    inputs = _inputs(example_inputs)
    model = type(module).__name__
    root, notes, kept = _bodies(module, inputs, model)
    design, blueprints, report = _design(root, name or model, model, notes)
    state, unused = remap_weights(module, root, design)
    ports = design.nodes_of_type("Input") + design.nodes_of_type("Output")
    return ImportResult(
        design=design,
        state_dict=state,
        opaque=kept,
        model=f"{type(module).__module__}.{model}",
        blocks=blueprints,
        notes=notes,
        unused_weights=unused,
        design_params=report.total_params,
        module_params=sum(p.numel() for p in module.parameters()),
        shapes={n: report.nodes[n].shape for n in ports},
        seconds=time.perf_counter() - start,
    )
