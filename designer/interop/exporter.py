"""torch's ONNX exporter, called quietly, and the model proto it returns (opset, bytes)."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from typing import Any

from designer.interop.result import ExportError

QUIET_LOGGERS = ("torch.onnx", "torch.export", "torch._dynamo", "torch.fx", "onnxscript")


def to_onnx(model, example, order, names, axes, opset) -> Any:
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


def written_opset(proto: Any) -> int:
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)


def serialize(proto: Any) -> bytes:
    try:
        return proto.SerializeToString()
    except ValueError as exc:  # protobuf refuses messages of 2 GiB and more
        raise ExportError(
            f"the model is too large for a single ONNX file (2 GiB at most) even with its large "
            f"weights in a side file: {exc}"
        ) from None
