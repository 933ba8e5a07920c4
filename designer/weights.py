"""Trained weights for a design's model: ``.pt``/``.pth`` state dicts and ``.safetensors`` files.

Weights are loaded strictly: every tensor the model has must be in the file with the same shape,
and the file must hold nothing else. A mismatch is reported in one message that lists the missing,
unexpected and wrongly shaped keys, so that a user sees at once whether the file belongs to another
design, to an older version of this one, or was saved from a wrapper (``module.`` prefixes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SHOWN = 8  # keys listed per kind of mismatch before "... and N more"
NESTED = ("state_dict", "model_state_dict", "model")  # where training checkpoints keep weights


class WeightsError(Exception):
    """A weights file that cannot be read (``status`` 2) or does not fit the model (1)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def read_state_dict(path: str | os.PathLike) -> dict[str, Any]:
    """The tensors of a ``.safetensors`` file or a ``torch.save``-d state dict (or checkpoint)."""
    source = Path(path)
    if not source.is_file():
        what = "is a folder" if source.is_dir() else "does not exist"
        raise WeightsError(f"weights file {str(source)!r} {what}; check the path", status=2)
    try:
        data = _read(source)
    except Exception as exc:  # corrupt or foreign files raise many different types
        raise WeightsError(
            f"cannot read weights file {str(source)!r}: {type(exc).__name__}: {exc}", status=2
        ) from None
    return _tensors_in(data, str(source))


def _read(source: Path) -> Any:
    if source.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(source), device="cpu")
    import torch

    return torch.load(source, map_location="cpu", weights_only=True)


def _tensors_in(data: Any, source: str) -> dict[str, Any]:
    """The state dict in ``data``: itself, or one nested under a usual checkpoint key."""
    import torch

    def is_state(value: Any) -> bool:
        return isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()
        )

    if is_state(data):
        return dict(data)
    if isinstance(data, Mapping):
        for key in NESTED:
            if is_state(data.get(key)):
                return dict(data[key])
    raise WeightsError(
        f"{source} holds no state dict (a mapping of names to tensors); save it with "
        "torch.save(model.state_dict(), path) or safetensors.torch.save_file",
        status=2,
    )


def mismatch(expected: Mapping[str, Any], given: Mapping[str, Any]) -> str | None:
    """A readable account of how ``given`` differs from ``expected`` (name -> tensor), or None."""
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    wrong = [
        f"{k} is {_shape(given[k])} in the file, {_shape(expected[k])} in the model"
        for k in sorted(set(expected) & set(given))
        if tuple(given[k].shape) != tuple(expected[k].shape)
    ]
    if not (missing or unexpected or wrong):
        return None
    counts = [
        f"{len(items)} {word}"
        for items, word in ((missing, "missing"), (unexpected, "unexpected"), (wrong, "mis-shaped"))
        if items
    ]
    lines = [", ".join(counts)]
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if items:
            more = f" ... and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
            lines.append(f"  {label}: {', '.join(items[:SHOWN])}{more}")
    hint = _prefix_hint(expected, given)
    if hint:
        lines.append(f"  hint: {hint}")
    return "\n".join(lines)


def _shape(tensor: Any) -> str:
    return "x".join(str(d) for d in tensor.shape) or "a scalar"


def _prefix_hint(expected: Mapping[str, Any], given: Mapping[str, Any]) -> str | None:
    """Explain a file whose keys all carry one extra prefix (``module.``, ``model.``)."""
    if not given or set(given) & set(expected):
        return None
    prefixes = {k.split(".", 1)[0] for k in given}
    if len(prefixes) != 1:
        return None
    prefix = prefixes.pop() + "."
    if {k[len(prefix) :] for k in given} == set(expected):
        return (
            f"every key in the file starts with {prefix!r} (saved from a wrapper); "
            f"save the inner model's state_dict() instead"
        )
    return None


def load_weights(model: Any, path: str | os.PathLike) -> int:
    """Load a weights file into ``model`` strictly; returns the number of tensors loaded."""
    state = read_state_dict(path)
    problem = mismatch(model.state_dict(), state)
    if problem:
        raise WeightsError(f"weights file {str(path)!r} does not fit the design: {problem}")
    model.load_state_dict(state, strict=True)
    return len(state)
