"""Tensors ``x`` and ``y`` in a ``.safetensors`` or ``.npz`` file, read without numpy or the
safetensors package; the task follows ``y``."""

from __future__ import annotations

import ast
import json
import math
import struct
import zipfile
from pathlib import Path

import torch

from designer.train.recipe.samples import DataError, DataSpec, Samples  # recipe-local

TENSOR_SUFFIXES = (".safetensors", ".npz")
NPY_DTYPES = {
    "<f4": torch.float32,
    "<f8": torch.float64,
    "<i8": torch.int64,
    "<i4": torch.int32,
    "|u1": torch.uint8,
    "|b1": torch.bool,
}
SAFETENSORS_DTYPES = {
    "F32": torch.float32,
    "F64": torch.float64,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def open_tensor_file(path: Path) -> Samples:
    """A .safetensors or .npz file holding ``x`` and ``y``; raises :class:`DataError`."""
    if path.suffix.lower() == ".safetensors":
        return _tensor_samples(path, *_read_safetensors(path))
    return _tensor_samples(path, *_read_npz(path), None)


class _TensorSamples(Samples):
    """Rows of ``x`` and ``y`` held in memory; uint8 inputs are scaled to [0, 1]."""

    def __init__(self, path: Path, spec: DataSpec, x, y, class_max) -> None:
        self.spec, self.class_max = spec, class_max
        self._path, self._x, self._y = path, x, y

    def __len__(self) -> int:
        return self._x.shape[0]

    def source(self, i: int) -> str:
        return f"{self._path}#{i}"

    def target(self, i: int) -> torch.Tensor:
        y = self._y[i]  # copied, so that no caller can change the data set in place
        return y.to(torch.float32 if y.is_floating_point() else torch.int64, copy=True)

    def _input(self, i: int) -> torch.Tensor:
        x = self._x[i].to(torch.float32, copy=True)
        return x.div_(255) if self._x.dtype == torch.uint8 else x


def _tensor_samples(path: Path, x: torch.Tensor, y: torch.Tensor, classes) -> Samples:
    if x.dim() == 0 or y.dim() == 0:
        raise DataError("x and y must hold one row per sample, not a single number", path)
    if x.shape[0] != y.shape[0]:
        raise DataError(
            f"x has {x.shape[0]} samples but y has {y.shape[0]}; give both the same first size",
            path,
        )
    if x.shape[0] == 0:
        raise DataError("holds no samples", path)
    task = _task(path, y)
    if x.dim() == 1 or (task == "segmentation" and x.dim() == 3):
        x = x.unsqueeze(1)  # one feature, or one channel
    if task == "segmentation" and (x.dim() != 4 or x.shape[2:] != y.shape[1:]):
        raise DataError(
            f"x is {list(x.shape)} and y {list(y.shape)}; segmentation needs x [N,C,H,W] and "
            "y [N,H,W] of the same height and width",
            path,
        )
    class_max = None if task == "regression" else _class_max(path, y)
    num_classes = None if class_max is None else max(class_max) + 1
    if classes is not None and num_classes is not None:
        num_classes = max(num_classes, len(classes))
    size = tuple(x.shape[2:]) if x.dim() == 4 else None
    spec = DataSpec(task, num_classes, classes, x.shape[1], size)
    return _TensorSamples(path, spec, x, y, class_max)


def _task(path: Path, y: torch.Tensor) -> str:
    if y.is_floating_point():
        return "regression"
    if y.dim() in (1, 3):
        return "classification" if y.dim() == 1 else "segmentation"
    raise DataError(
        f"y is an integer tensor of shape {list(y.shape)}; give y [N] class labels, [N,H,W] class "
        "maps, or float targets for regression",
        path,
    )


def _class_max(path: Path, y: torch.Tensor) -> list[int]:
    flat = y.reshape(y.shape[0], -1).long()
    low = flat.amin(1)
    if bool((low < 0).any()):
        i = int(torch.nonzero(low < 0)[0])
        raise DataError(
            f"y holds class index {int(low[i])}; class indices start at 0", f"{path}#{i}"
        )
    return flat.amax(1).tolist()


def _read_safetensors(path: Path) -> tuple[torch.Tensor, torch.Tensor, list[str] | None]:
    """Tensors ``x`` and ``y`` (and classes from the metadata) of a .safetensors file."""
    raw = _read_bytes(path)
    try:
        (length,) = struct.unpack_from("<Q", raw, 0)
        if 8 + length > len(raw):
            raise ValueError("the header runs past the end of the file")
        header = json.loads(raw[8 : 8 + length])
        body = memoryview(raw)[8 + length :]
        tensors = [_safetensor(path, header, body, key) for key in ("x", "y")]
        classes = header.get("__metadata__", {}).get("classes")
        classes = None if classes is None else json.loads(classes)
    except (struct.error, ValueError, AttributeError, TypeError, KeyError) as exc:
        raise DataError(f"is not a valid safetensors file ({exc})", path) from None
    return tensors[0], tensors[1], classes


def _safetensor(path: Path, header: dict, body: memoryview, key: str) -> torch.Tensor:
    if key not in header:
        names = ", ".join(sorted(k for k in header if k != "__metadata__")) or "none"
        raise DataError(
            f"has no tensor {key!r} (found: {names}); store inputs as x and targets as y", path
        )
    entry = header[key]
    dtype = SAFETENSORS_DTYPES.get(entry["dtype"])
    if dtype is None:
        raise DataError(
            f"tensor {key!r} has dtype {entry['dtype']}; store it as one of "
            f"{', '.join(SAFETENSORS_DTYPES)}",
            path,
        )
    begin, end = entry["data_offsets"]
    return _from_bytes(body[begin:end], dtype, tuple(entry["shape"]), f"tensor {key!r}", path)


def _read_npz(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Arrays ``x.npy`` and ``y.npy`` of a .npz file (numpy's zip of .npy files)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            for key in ("x", "y"):
                if f"{key}.npy" not in names:
                    found = ", ".join(sorted(n.removesuffix(".npy") for n in names)) or "none"
                    raise DataError(
                        f"has no array {key!r} (found: {found}); save it as "
                        "numpy.savez(path, x=inputs, y=targets)",
                        path,
                    )
            return tuple(_parse_npy(path, key, zf.read(f"{key}.npy")) for key in ("x", "y"))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"is not a readable .npz file ({exc})", path) from None


def _parse_npy(path: Path, key: str, raw: bytes) -> torch.Tensor:
    """One .npy array: magic, version, a header dict literal, then the raw data."""
    try:
        if raw[:6] != b"\x93NUMPY":
            raise ValueError("no .npy magic")
        wide = raw[6] >= 2  # versions 2 and 3 store a 4-byte header length
        (length,) = struct.unpack_from("<I" if wide else "<H", raw, 8)
        start = 12 if wide else 10
        header = ast.literal_eval(raw[start : start + length].decode("latin1"))
        descr, fortran, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise DataError(f"array {key!r} is not a valid .npy array ({exc})", path) from None
    dtype = NPY_DTYPES.get(descr) if isinstance(descr, str) else None
    if dtype is None:
        raise DataError(
            f"array {key!r} has dtype {descr!r}; store it as little-endian float32, float64, "
            "int64, int32, uint8 or bool",
            path,
        )
    if fortran:
        raise DataError(f"array {key!r} is in Fortran order; save numpy.ascontiguousarray()", path)
    return _from_bytes(memoryview(raw)[start + length :], dtype, shape, f"array {key!r}", path)


def _from_bytes(data, dtype: torch.dtype, shape: tuple, what: str, path: Path) -> torch.Tensor:
    valid = all(isinstance(d, int) and d >= 0 for d in shape)
    need = math.prod(shape) * dtype.itemsize if valid else -1
    if not 0 <= need <= len(data):
        raise DataError(f"{what} is truncated or malformed; write the file again", path)
    if need == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(data[:need]), dtype=dtype).reshape(shape)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot be read ({exc.strerror})", path) from None
