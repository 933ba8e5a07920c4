"""Folders of images read with Pillow: a segmentation folder (``images/`` + ``masks/`` paired by
file stem; masks are single-channel PNGs holding one class index per pixel; an optional
``dataset.json`` names the classes) or a classification folder (one sub-folder of images per
class, classes sorted by name)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image

from designer.train.recipe.samples import LAYOUTS, DataError, DataSpec, Samples  # recipe-local

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
CACHE_BYTES = 512 * 2**20  # a set that decodes to less than this is decoded once, kept in memory
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
MASK_MODES = frozenset({"1", "L", "P", "I", "I;16", "I;16L", "I;16B", "I;16N"})
WIDE_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})  # 16-bit grey, scaled to 8


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


def open_folder(folder: Path) -> Samples:
    """A segmentation or classification folder; raises :class:`DataError`."""
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
