"""What an ONNX export returns (:class:`ExportResult`) or raises (:class:`ExportError`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from designer.core.validate import Report
from designer.interop.parity import Parity


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
    data_path: Path | None = None  # the side file of weights over 2 GiB (ONNX external data)
    data_size: int = 0  # its bytes
    notes: list[str] = field(default_factory=list)  # what the user should know, one line each

    @property
    def nodes(self) -> int:
        return sum(self.ops.values())

    def summary(self) -> str:
        """``53 nodes: Conv 19, Relu 18, ...``."""
        ops = ", ".join(f"{op} {n}" for op, n in self.ops.most_common())
        return f"{self.nodes} nodes: {ops}"
