"""Training data: a folder or tensor file opened as a torch Dataset, and a train/validation split.

Layouts: a segmentation folder (``images/`` + ``masks/`` paired by file stem; masks are
single-channel PNGs holding one class index per pixel; an optional ``dataset.json`` names the
classes), a classification folder (one sub-folder of images per class, classes sorted by name), or
tensors ``x`` and ``y`` in a ``.safetensors`` or ``.npz`` file (the task follows ``y``). Every
error is a :class:`DataError` naming the file and what would fix it.

This module is copied verbatim into generated training scripts: it imports only the standard
library, torch and Pillow.
"""

from __future__ import annotations

import ast
import json
import math
import os
import random
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

LAYOUTS = (
    "a folder with images/ and masks/ (segmentation), a folder with one sub-folder of images per "
    "class (classification), or a .safetensors or .npz file holding tensors x and y"
)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
CACHE_BYTES = 512 * 2**20  # a set that decodes to less than this is decoded once, kept in memory
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
MASK_MODES = frozenset({"1", "L", "P", "I", "I;16", "I;16L", "I;16B", "I;16N"})
WIDE_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})  # 16-bit grey, scaled to 8
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


class DataError(Exception):
    """A data set that cannot be used; the message names the file and what would fix it."""

    def __init__(self, message: str, path: str | os.PathLike | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        super().__init__(message if path is None else f"{self.path}: {message}")


@dataclass
class DataSpec:
    task: str  # "segmentation" | "classification" | "regression"
    num_classes: int | None  # classes incl. background for segmentation; None for regression
    classes: list[str] | None
    in_channels: int
    size: tuple[int, int] | None  # (H, W) when all samples share it


class Samples(torch.utils.data.Dataset):
    """Pairs ``(x, y)``: x float32 [C,H,W] in [0,1] (or the stored features); y int64 [H,W]
    (segmentation), int64 [] (classification) or float32 (regression)."""

    spec: DataSpec
    class_max: list[int] | None  # each sample's largest class index; None for regression

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample {i} of {len(self)}")
        i %= len(self)
        return self._input(i), self.target(i)

    def source(self, i: int) -> str:
        """The file (or ``file#index``) of sample ``i``, for messages."""
        raise NotImplementedError

    def target(self, i: int) -> torch.Tensor:
        """Sample ``i``'s y alone (no image decoded)."""
        raise NotImplementedError

    def _input(self, i: int) -> torch.Tensor:
        raise NotImplementedError

    def _target_source(self, i: int) -> str:
        return self.source(i)


def open_data(path: str | os.PathLike) -> Samples:
    """Open a data set in any of the accepted layouts; raises :class:`DataError`."""
    path = Path(path)
    if path.is_dir():
        return _open_folder(path)
    if not path.exists():
        raise DataError(f"does not exist; give {LAYOUTS}", path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return _tensor_samples(path, *_read_safetensors(path))
    if suffix == ".npz":
        return _tensor_samples(path, *_read_npz(path), None)
    raise DataError(f"is not a data set; give {LAYOUTS}", path)


def split(n: int, val_fraction: float = 0.2, seed: int = 0) -> tuple[list[int], list[int]]:
    """Sorted train and validation indices, fixed by the seed; both non-empty when n >= 2."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction {val_fraction} must be between 0 and 1")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_val = min(max(round(n * val_fraction), 1), n - 1) if n >= 2 else 0
    return sorted(order[n_val:]), sorted(order[:n_val])


def check_targets(samples: Samples, num_outputs: int) -> None:
    """Refuse class indices the model cannot predict (``num_outputs`` classes)."""
    if samples.class_max is None:
        return
    for i, top in enumerate(samples.class_max):
        if top >= num_outputs:
            raise DataError(
                f"has class index {top}, but the model has {num_outputs} outputs (classes 0 to "
                f"{num_outputs - 1}); give the model's last layer at least {top + 1} outputs",
                samples._target_source(i),
            )


# folders of images


class _FolderSamples(Samples):
    """Images (and masks) read with Pillow; decoded once and kept when the whole set is small."""

    def __init__(self, spec, images, targets, mode, class_max, pixels, masks=None) -> None:
        self.spec, self.class_max = spec, class_max
        self._images, self._targets, self._mode = images, targets, mode
        self._x: list[torch.Tensor] | None = None
        self._y: list[torch.Tensor] | None = None
        if pixels * (len(mode) + (masks is not None)) < CACHE_BYTES:
            self._x = [_pixels(p, mode) for p in images]
            self._y = masks

    def __len__(self) -> int:
        return len(self._images)

    def source(self, i: int) -> str:
        return str(self._images[i])

    def target(self, i: int) -> torch.Tensor:
        t = self._targets[i]
        if isinstance(t, int):
            return torch.tensor(t, dtype=torch.int64)
        return (self._y[i] if self._y is not None else _class_map(t)).long()

    def _input(self, i: int) -> torch.Tensor:
        x = self._x[i] if self._x is not None else _pixels(self._images[i], self._mode)
        return x.float().div_(255)

    def _target_source(self, i: int) -> str:
        return str(self._targets[i]) if isinstance(self._targets[i], Path) else self.source(i)


def _open_folder(folder: Path) -> Samples:
    if (folder / "images").is_dir() or (folder / "masks").is_dir():
        return _segmentation_folder(folder)
    entries = [e for e in folder.iterdir() if not e.name.startswith(".")]
    if not entries:
        raise DataError(f"is empty; give {LAYOUTS}", folder)
    classes = sorted(e.name for e in entries if e.is_dir())
    if not classes:
        raise DataError(f"matches no layout; give {LAYOUTS}", folder)
    return _classification_folder(folder, classes)


def _segmentation_folder(folder: Path) -> Samples:
    images, masks = _by_stem(folder / "images"), _by_stem(folder / "masks")
    for stem, image in images.items():
        if stem not in masks:
            raise DataError(f"has no mask; add masks/{stem}.png or remove the image", image)
    for stem, mask in masks.items():
        if stem not in images:
            raise DataError("has no image in images/; add one or remove the mask", mask)
    stems = sorted(images)
    heads = [_header(images[s]) for s in stems]
    for s, (size, _) in zip(stems, heads, strict=True):
        _check_mask(masks[s], images[s], size)
    maps = [_class_map(masks[s]) for s in stems]
    class_max = [int(m.max()) for m in maps]
    classes = _declared_classes(folder / "dataset.json")
    num_classes = max(class_max) + 1
    if classes is not None and num_classes > len(classes):
        i = max(range(len(stems)), key=class_max.__getitem__)
        raise DataError(
            f"has class index {class_max[i]}, but dataset.json names {len(classes)} classes; "
            "fix the mask or name every class in dataset.json",
            masks[stems[i]],
        )
    mode = _common_mode(heads)
    spec = DataSpec(
        "segmentation",
        len(classes) if classes is not None else num_classes,
        classes,
        len(mode),
        _common_size(heads),
    )
    paths = [images[s] for s in stems]
    targets = [masks[s] for s in stems]
    return _FolderSamples(spec, paths, targets, mode, class_max, _pixel_count(heads), maps)


def _classification_folder(folder: Path, classes: list[str]) -> Samples:
    paths, labels = [], []
    for label, name in enumerate(classes):
        found = _image_files(folder / name)
        if not found:
            raise DataError(f"holds no images; add images of {name!r} or remove it", folder / name)
        paths += found
        labels += [label] * len(found)
    heads = [_header(p) for p in paths]
    mode = _common_mode(heads)
    spec = DataSpec("classification", len(classes), classes, len(mode), _common_size(heads))
    return _FolderSamples(spec, paths, labels, mode, labels, _pixel_count(heads))


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def _by_stem(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise DataError(
            "is missing; a segmentation folder holds images/ and masks/ paired by file name",
            folder,
        )
    found: dict[str, Path] = {}
    for p in _image_files(folder):
        if p.stem in found:
            raise DataError(f"and {found[p.stem].name} share a name; keep one", p)
        found[p.stem] = p
    if not found:
        raise DataError("holds no images; add PNG or JPEG files", folder)
    return found


def _header(path: Path) -> tuple[tuple[int, int], str]:
    """An image's (width, height) and mode, from its header alone."""
    try:
        with Image.open(path) as im:
            return im.size, im.mode
    except Exception as exc:
        raise _unreadable(path, exc) from None


def _check_mask(mask: Path, image: Path, size: tuple[int, int]) -> None:
    mask_size, mode = _header(mask)
    if mode not in MASK_MODES:
        raise DataError(
            f"is a {mode} image, not a single-channel mask; save it as a grayscale (L) or palette "
            "(P) PNG holding one class index per pixel",
            mask,
        )
    if mask_size != size:
        raise DataError(
            f"is {mask_size[0]}×{mask_size[1]} but its image {image} is {size[0]}×{size[1]}; "
            "a mask must match its image pixel for pixel",
            mask,
        )


def _common_mode(heads: list[tuple[tuple[int, int], str]]) -> str:
    return "L" if all(mode in GRAY_MODES for _, mode in heads) else "RGB"


def _common_size(heads: list[tuple[tuple[int, int], str]]) -> tuple[int, int] | None:
    sizes = {size for size, _ in heads}
    (w, h) = next(iter(sizes))
    return (h, w) if len(sizes) == 1 else None


def _pixel_count(heads: list[tuple[tuple[int, int], str]]) -> int:
    return sum(w * h for (w, h), _ in heads)


def _pixels(path: Path, mode: str) -> torch.Tensor:
    """uint8 [C,H,W] of the image, converted to ``mode`` (RGB or L)."""
    try:
        with Image.open(path) as im:
            if im.mode in WIDE_MODES:  # 16-bit grey: scale to 8 bits, as convert() clips
                im = im.convert("I").point(lambda v: v * (1 / 257))
            im = im.convert(mode)
    except Exception as exc:
        raise _unreadable(path, exc) from None
    w, h = im.size
    flat = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
    return flat.view(h, w, len(mode)).permute(2, 0, 1).contiguous()


def _class_map(path: Path) -> torch.Tensor:
    """[H,W] class indices of a single-channel mask (uint8, or int32 for 16-bit masks)."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode == "1":
                im = im.convert("L").point(lambda v: v // 255)
            elif im.mode not in ("L", "P"):
                im = im.convert("I")
    except Exception as exc:
        raise _unreadable(path, exc) from None
    w, h = im.size
    dtype = torch.uint8 if im.mode in ("L", "P") else torch.int32
    return torch.frombuffer(bytearray(im.tobytes()), dtype=dtype).view(h, w)


def _unreadable(path: Path, exc: Exception) -> DataError:
    return DataError(f"cannot be read as an image ({exc}); replace or remove it", path)


def _declared_classes(path: Path) -> list[str] | None:
    if not path.is_file():
        return None
    try:
        classes = json.loads(path.read_text(encoding="utf-8")).get("classes")
    except (OSError, ValueError, AttributeError) as exc:
        raise DataError(f"cannot be read as JSON ({exc}); fix or remove it", path) from None
    if classes is None:
        return None
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise DataError('"classes" must be a list of names, background first', path)
    return classes


# tensors in a file


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
