"""What an import gives back (:class:`ImportResult`), how it fails (:class:`ImportFailed`), and the
readable report of both."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from designer.core.graph import Design
from designer.interop.importer.definitions import Blueprint
from designer.interop.importer.mapped import Opaque


class ImportFailed(ValueError):
    """The model cannot become a design; ``opaque`` lists every node at fault, with the reason."""

    def __init__(self, model: str, opaque: list[Opaque], notes: list[str] | None = None) -> None:
        self.model = model
        self.opaque = list(opaque)
        self.notes = list(notes or [])
        count = len(self.opaque)
        lines = [
            f"cannot import {model}: {count} operation{'s' if count != 1 else ''} "
            "the block vocabulary cannot express"
        ]
        lines += [f"  {item}" for item in self.opaque]
        super().__init__("\n".join(lines))


def _shape(shape: Any) -> str:
    return "×".join("N" if d is None else str(d) for d in shape) if shape else "?"


def _counts(types: list[str]) -> str:
    counted = [f"{t} ×{n}" if n > 1 else t for t, n in Counter(types).items()]
    return ", ".join(counted) or "none"


@dataclass
class ImportResult:
    """An imported model: the editable design, its weights under the live model's keys, and what
    was kept as an opaque call: a TorchModule or TorchFunction node, or a module of the model's
    kept whole by import path (a PythonModule node) around an op no block expresses."""

    design: Design
    state_dict: dict[str, Any]
    opaque: list[Opaque] = field(default_factory=list)
    model: str = ""
    blocks: list[Blueprint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unused_weights: list[str] = field(default_factory=list)
    design_params: int = 0
    module_params: int = 0
    shapes: dict[str, Any] = field(default_factory=dict)  # Input/Output node -> shape
    seconds: float = 0.0

    def report(self) -> str:
        """A few lines: the blocks made, the nodes, the parameters, what was opaque and why."""
        design = self.design
        lines = [
            f"imported {self.model} in {self.seconds * 1e3:.0f} ms: design {design.name!r}, "
            f"{len(design)} nodes, {len(self.blocks)} composite block"
            f"{'s' if len(self.blocks) != 1 else ''}, {self.design_params:,} parameters"
        ]
        width = max((len(b.name) for b in self.blocks), default=0)
        for block in self.blocks:
            params = ", ".join(p.name for p in block.params) or "none"
            inner = _counts([op.block for op in block.ops])
            lines.append(
                f"  {block.name:<{width}}  ×{block.instances:<3} params: {params}; nodes: {inner}"
            )
        model_nodes = [design.node(n)["type"] for n in design.node_ids()]
        lines.append(f"model nodes: {_counts(model_nodes)}")
        repeated = [n for n in design.node_ids() if "repeat" in design.node(n)]
        repeats = [f"{n} ×{design.node(n)['repeat']}" for n in repeated]
        if repeats:
            lines.append(f"repeat nodes (alike instances in a row): {', '.join(repeats)}")
        ports = [f"{n} {_shape(s)}" for n, s in self.shapes.items()]
        lines.append(f"inputs and outputs (batch N): {', '.join(ports)}")
        same = "equal to" if self.design_params == self.module_params else "the module has"
        lines.append(
            f"parameters: {self.design_params:,} ({same} {self.module_params:,}); "
            f"{len(self.state_dict)} tensors under the live model's keys"
        )
        if self.unused_weights:
            unused = self.unused_weights
            listed = ", ".join(unused[:4]) + ("..." if len(unused) > 4 else "")
            lines.append(f"left out: {len(unused)} tensors the forward never uses ({listed})")
        lines.append(
            "opaque: none"
            if not self.opaque
            else "opaque:\n" + "\n".join(f"  {o}" for o in self.opaque)
        )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)
