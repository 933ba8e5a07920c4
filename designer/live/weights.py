"""Trained weights for a design's model: ``.pt``/``.pth`` state dicts and ``.safetensors`` files.

Weights are loaded strictly: every tensor the model has must be in the file with the same shape,
and the file must hold nothing else. A mismatch is reported in one message that lists the missing,
unexpected and wrongly shaped keys, so that a user sees at once whether the file belongs to another
design, to an older version of this one, or was saved from a wrapper (``module.`` prefixes).
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SHOWN = 8  # keys listed per kind of mismatch before "... and N more"
NESTED = ("state_dict", "model_state_dict", "model")  # where training checkpoints keep weights
DEFAULT_CAP = 16 * 2**30  # bytes a file may hold when the model's size is not known
SLACK = 4  # x the model's bytes: a checkpoint may add optimizer state (Adam keeps two copies)
HEADER_CAP = 100_000_000  # the safetensors library's own limit on its JSON header


class WeightsError(Exception):
    """A weights file that cannot be read (``status`` 2) or does not fit the model (1)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def read_state_dict(path: str | os.PathLike, expected_bytes: int | None = None) -> dict[str, Any]:
    """The tensors of a ``.safetensors`` file or a ``torch.save``-d state dict (or checkpoint).

    Before anything is expanded, the sizes the file declares are checked against a bound:
    ``SLACK`` times ``expected_bytes`` (the model's tensors) plus 1 MiB, else ``DEFAULT_CAP``."""
    source = Path(path)
    if not source.is_file():
        what = "is a folder" if source.is_dir() else "does not exist"
        raise WeightsError(f"weights file {str(source)!r} {what}; check the path", status=2)
    limit = DEFAULT_CAP if expected_bytes is None else SLACK * expected_bytes + 2**20
    try:
        declared = _declared_bytes(source)
        if declared > limit:
            raise WeightsError(_too_large(source, declared, limit, expected_bytes), status=2)
        data = _read(source)
    except WeightsError:
        raise
    except Exception as exc:  # corrupt or foreign files raise many different types
        raise WeightsError(_unreadable(source, exc), status=2) from None
    return _tensors_in(data, str(source))


def _read(source: Path) -> Any:
    if source.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(source), device="cpu")
    import torch

    return torch.load(source, map_location="cpu", weights_only=True)


def _declared_bytes(source: Path) -> int:
    """What reading ``source`` would expand to, from its zip directory or safetensors header."""
    if source.suffix == ".safetensors":
        return _safetensors_bytes(source)
    if not zipfile.is_zipfile(source):  # torch's legacy format stores tensors uncompressed
        return source.stat().st_size
    with zipfile.ZipFile(source) as archive:
        return sum(entry.file_size for entry in archive.infolist())


def _safetensors_bytes(source: Path) -> int:
    """The tensor bytes a ``.safetensors`` header declares, checked against the file's size."""
    size = source.stat().st_size
    with open(source, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        if size < 8 or length > min(size - 8, HEADER_CAP):
            raise ValueError(f"its header length {length:,} does not fit a {size:,}-byte file")
        header = json.loads(f.read(length))
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    spans = [e["data_offsets"] for k, e in header.items() if k != "__metadata__"]
    if not all(len(s) == 2 and 0 <= s[0] <= s[1] for s in spans):
        raise ValueError("its header holds data offsets that are not ordered pairs")
    end = 8 + length + max((s[1] for s in spans), default=0)
    if end > size:
        raise ValueError(f"its header points {end - size:,} bytes past the end of the file")
    return sum(s[1] - s[0] for s in spans)


def _too_large(source: Path, declared: int, limit: int, expected: int | None) -> str:
    against = (
        f"the model's tensors take {expected:,} bytes"
        if expected is not None
        else f"the limit is {limit:,} bytes"
    )
    return (
        f"weights file {str(source)!r} would expand to {declared:,} bytes, and {against}; "
        "it is not read (a file for another model, or one built to exhaust memory)"
    )


def _unreadable(source: Path, exc: Exception) -> str:
    """One line for a file torch or safetensors cannot read; never torch's unsafe advice."""
    text = str(exc)
    if "weights_only" not in text:
        return f"cannot read weights file {str(source)!r}: {type(exc).__name__}: {text}"
    found = re.search(r"GLOBAL (\S+) was not", text)
    if found or "Unsupported global" in text:
        named = f" (such as {found.group(1)})" if found else ""
        return (
            f"weights file {str(source)!r} holds Python objects other than tensors{named}; "
            "only plain state dicts are loaded, nothing in the file is executed"
        )
    detail = re.search(r"WeightsUnpickler error:\s*([^\n]+)", text)
    reason = detail.group(1).split(". ")[0].strip() if detail else "unknown content"
    return (
        f"cannot read weights file {str(source)!r}: not a torch.save state dict, or a damaged "
        f"one ({reason})"
    )


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
    expected = model.state_dict()
    size = sum(t.numel() * t.element_size() for t in expected.values())
    state = read_state_dict(path, expected_bytes=size)
    problem = mismatch(expected, state)
    if problem:
        raise WeightsError(f"weights file {str(path)!r} does not fit the design: {problem}")
    model.load_state_dict(state, strict=True)
    return len(state)
