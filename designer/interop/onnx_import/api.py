"""``import_onnx``: an ONNX model -> an editable design, its weights, and a report.

The steps, one module each: read the file (``reader``), convert the graph node by node through the
converter registry into a flat list of blocks (``convert``, the op families in ``catalog``; a
layer the exporter spelled in many nodes, attention or recurrent, as one block: ``regions``), cut
it into composite blocks along the module scopes the exporter recorded (``scopes``, ``nest``; the
torch importer's definer and assembler write them), validate, and move the initializers to the
live model's keys (``weights``). A model whose scopes give no valid design comes back flat.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from designer.core.validate import validate
from designer.interop.importer.assemble import assemble
from designer.interop.importer.definitions import define_blocks, root_blueprint
from designer.interop.importer.mapped import Opaque
from designer.interop.importer.modules import Unsupported as DefinerRefused
from designer.interop.importer.result import ImportFailed, ImportResult
from designer.interop.importer.weights import WeightsMismatch
from designer.interop.onnx_import.catalog import coverage
from designer.interop.onnx_import.convert import Flat, GraphConverter
from designer.interop.onnx_import.nest import nest
from designer.interop.onnx_import.reader import constants, default_opset, graph_inputs, read
from designer.interop.onnx_import.weights import live_state, parameter_count

__all__ = ["coverage", "import_onnx"]


def _design_name(model, source, label: str) -> str:
    meta = {p.key: p.value for p in model.metadata_props}
    candidates = [meta.get("designer.design"), model.graph.name]
    if not isinstance(source, (bytes, bytearray)) and not hasattr(source, "graph"):
        candidates.insert(1, Path(source).stem)
    for name in candidates:
        if name and re.fullmatch(r"[\w .-]{1,64}", name):
            return name
    return "imported"


def _build(flat: Flat, name: str, label: str, composites: bool):
    """The design, its weights under the live keys, the blueprints, the report and notes."""
    root, dropped = nest(flat, composites)
    notes = [
        f"module scope {p} is not one piece of the graph; its blocks stay inline" for p in dropped
    ]
    try:
        blueprints = define_blocks(root)
    except DefinerRefused as exc:
        raise ImportFailed(label, [Opaque("", "module scopes", str(exc))], notes) from exc
    design = assemble(root_blueprint(root, name), blueprints, category=f"Imported: {label}")
    report = validate(design)
    if not report.ok:
        issues = [Opaque(i.node or "", i.block or "design", i.message) for i in report.errors]
        raise ImportFailed(label, issues, notes)
    try:
        state = live_state(design, root, flat.ops)
    except WeightsMismatch as exc:
        raise ImportFailed(label, [Opaque("", "weights", str(exc))], notes) from exc
    return design, state, blueprints, report, notes


def _structured(flat: Flat, name: str, label: str):
    """Composite blocks from the scopes; flat when they give no valid design."""
    try:
        return _build(flat, name, label, composites=True)
    except ImportFailed as exc:
        design, state, blueprints, report, notes = _build(flat, name, label, composites=False)
        reason = str(exc.opaque[0]) if exc.opaque else str(exc)
        notes.append(f"imported flat: the module scopes gave no valid design ({reason})")
        return design, state, blueprints, report, notes


def import_onnx(
    source,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    name: str | None = None,
    hierarchy: bool = True,
) -> ImportResult:
    """Import an ONNX model: a path, the bytes of a file or an ``onnx.ModelProto``.

    ``input_shapes`` maps input names to full example shapes (batch first), needed for sizes the
    file leaves free other than the batch. ``hierarchy=False`` gives a flat design. Raises
    :class:`ImportFailed` naming every node no block expresses (node name, op type, opset), or
    its subclass ``BadFile`` (``status`` 2) for a file that is not an ONNX model.
    """
    start = time.perf_counter()
    model, label = read(source)
    inputs = graph_inputs(model, label, input_shapes)
    converter = GraphConverter(model.graph, default_opset(model), inputs, inputs[0].shape[0])
    converter.add_constants(constants(model))
    flat = converter.run()
    if flat.opaque:
        raise ImportFailed(label, flat.opaque)
    title = name or _design_name(model, source, label)
    if hierarchy:
        design, state, blueprints, report, notes = _structured(flat, title, label)
    else:
        design, state, blueprints, report, notes = _build(flat, title, label, composites=False)
    ports = design.nodes_of_type("Input") + design.nodes_of_type("Output")
    return ImportResult(
        design=design,
        state_dict=state,
        model=label,
        blocks=blueprints,
        notes=notes,
        unused_weights=sorted(flat.unused),
        design_params=report.total_params,
        module_params=parameter_count(flat.ops),
        shapes={n: report.nodes[n].shape for n in ports},
        seconds=time.perf_counter() - start,
    )
