"""Does onnxruntime compute what PyTorch computes? One random input, every output compared.

The relative error of an output is its largest absolute difference divided by the largest
magnitude of torch's result (an element-wise ratio blows up wherever the true value is near zero,
which says nothing about the model). The figure reported is the worst over all outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_TOLERANCE = 1e-4  # relative, for fp32


@dataclass(frozen=True)
class Parity:
    """The comparison at one set of input shapes."""

    shapes: dict[str, tuple[int, ...]]  # ONNX input name -> shape used
    max_abs: float
    max_rel: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_rel <= self.tolerance

    def line(self) -> str:
        """One line for the user: where, both errors, the limit and the verdict."""
        where = ", ".join(f"{n} {'x'.join(map(str, s))}" for n, s in self.shapes.items())
        verdict = "ok" if self.ok else "FAILED"
        return (
            f"onnxruntime vs torch at {where}: max abs error {self.max_abs:.2e}, "
            f"max rel error {self.max_rel:.2e} (limit {self.tolerance:.0e}): {verdict}"
        )


class VerificationError(Exception):
    """The exported model is malformed or cannot be run by onnxruntime."""


def check(model: Any) -> None:
    """``onnx.checker`` with full shape-inference checks on a model or its serialized bytes;
    raises VerificationError."""
    import onnx

    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # ValidationError, InferenceError
        raise VerificationError(f"onnx.checker rejects the exported model: {exc}") from None


def session(payload: bytes, external: Mapping[str, Any] | None = None) -> Any:
    """An onnxruntime CPU session for a serialized model, its external data files (name ->
    contents) read from memory; raises VerificationError."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: no notices about unused initializers
    if external:
        import numpy as np

        names, buffers = list(external), [np.frombuffer(b, np.uint8) for b in external.values()]
        options.add_external_initializers_from_files_in_memory(
            names, buffers, [len(b) for b in buffers]
        )
    try:
        return ort.InferenceSession(payload, options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise VerificationError(
            f"onnxruntime {ort.__version__} cannot load the exported model: {exc}; "
            "try a lower --opset, or --no-verify to write it unchecked"
        ) from None


def compare(
    model: Any,
    runtime: Any,
    inputs: Mapping[str, Any],
    tolerance: float = DEFAULT_TOLERANCE,
) -> Parity:
    """Run ``model`` (torch, eval mode) and ``runtime`` (onnxruntime) on ``inputs`` (name ->
    float32 tensor, in the model's argument order) and measure how far apart they are."""
    import torch

    with torch.inference_mode():
        expected = model(*inputs.values())
    expected = [t.detach().cpu().numpy() for t in _as_list(expected)]
    shapes = {name: tuple(t.shape) for name, t in inputs.items()}
    try:
        got = runtime.run(None, {name: t.cpu().numpy() for name, t in inputs.items()})
    except Exception as exc:  # onnxruntime's own errors: one line, the shapes it was given
        sizes = ", ".join(f"{n} {'×'.join(map(str, s))}" for n, s in shapes.items())
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        message = f"onnxruntime cannot run the exported model at {sizes}: {first}"
        raise VerificationError(message) from None
    max_abs, max_rel = _errors(expected, got)
    return Parity(shapes, max_abs, max_rel, tolerance)


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _errors(expected: Sequence[Any], got: Sequence[Any]) -> tuple[float, float]:
    """Worst absolute and relative difference over outputs; inf when shapes disagree."""
    import numpy as np

    if len(expected) != len(got):
        return float("inf"), float("inf")
    worst_abs = worst_rel = 0.0
    for want, have in zip(expected, got, strict=True):
        if tuple(want.shape) != tuple(have.shape):
            return float("inf"), float("inf")
        if want.size == 0:
            continue
        diff = float(np.max(np.abs(want.astype(np.float64) - have.astype(np.float64))))
        scale = float(np.max(np.abs(want)))
        rel = diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))
        if not np.isfinite(diff):  # NaN from either side is a failure, not a zero
            diff = rel = float("inf")
        worst_abs, worst_rel = max(worst_abs, diff), max(worst_rel, rel)
    return worst_abs, worst_rel
