"""The shapes set: a small, real, reproducible segmentation data set to train a first model on.

Each RGB image holds 1 to 3 circles, squares and triangles (random colours, sizes, positions and
rotations, possibly overlapping) on a random base colour, with per-pixel noise over the whole
image; its mask (mode L) holds one class index per pixel: 0 background, 1 circle, 2 square,
3 triangle. Image ``i`` depends only on ``(seed, i)``, so the same seed writes the same bytes and a
smaller set is a prefix of a larger one.
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

from designer.core.atomicfile import atomic_write
from designer.train.recipe.data import DataError

CLASSES = ["background", "circle", "square", "triangle"]
FORMAT = "torch-designer-data"
NOISE = 24  # per-pixel noise amplitude, in 8-bit levels
_REACH = {1: 1.0, 2: 1.25, 3: 1.55}  # corner radius per kind, for about equal areas
WRITERS = 8  # threads writing samples: each file is synced to disk, which waits on the disk
_OWN_NAME = re.compile(r"\d+\.png|\..*\.tmp")  # a sample, or a temporary file of atomic_write


def make_shapes(out_dir: str | os.PathLike, n: int = 256, size: int = 64, seed: int = 0) -> Path:
    """Write ``images/NNNN.png``, ``masks/NNNN.png`` and ``dataset.json`` under ``out_dir``."""
    if n < 1 or size < 8:
        raise ValueError(f"make_shapes needs n >= 1 and size >= 8, not n={n}, size={size}")
    out = Path(out_dir)
    names = [f"{i:0{max(4, len(str(n - 1)))}d}.png" for i in range(n)]
    _prepare(out, set(names))
    meta = {"task": "segmentation", "classes": CLASSES, "num_classes": len(CLASSES)}
    meta |= {"n": n, "size": size, "seed": seed, "format": FORMAT, "version": 1}
    atomic_write(out / "dataset.json", (json.dumps(meta, indent=2) + "\n").encode())
    pool = ThreadPoolExecutor(WRITERS)
    try:
        list(pool.map(lambda i: _write_sample(out, names[i], seed, i, size), range(n)))
    finally:
        pool.shutdown(cancel_futures=True)  # on Ctrl+C, start no further sample
    return out


def _write_sample(out: Path, name: str, seed: int, i: int, size: int) -> None:
    image, mask = draw_sample(random.Random(f"shapes:{seed}:{i}"), size)
    atomic_write(out / "masks" / name, _png(mask))
    atomic_write(out / "images" / name, _png(image))


def draw_sample(rng: random.Random, size: int) -> tuple[Image.Image, Image.Image]:
    """One RGB image and its class mask."""
    base = tuple(rng.randrange(2 * NOISE, 256 - 2 * NOISE) for _ in range(3))
    image = Image.new("RGB", (size, size), base)
    mask = Image.new("L", (size, size), 0)
    used = [base]
    for _ in range(rng.randint(1, 3)):
        kind = rng.randint(1, 3)
        colour = _distinct_colour(rng, used)
        used.append(colour)
        geometry = _geometry(rng, size, kind)
        for canvas, fill in ((image, colour), (mask, kind)):
            _draw_shape(ImageDraw.Draw(canvas), kind, geometry, fill)
    return _add_noise(image, rng), mask


def _geometry(rng: random.Random, size: int, kind: int) -> tuple[float, float, float, float]:
    """Centre, radius (to the corners) and rotation of one shape, inside the image."""
    r = rng.uniform(0.12, 0.3) * size * _REACH[kind]
    return rng.uniform(r, size - r), rng.uniform(r, size - r), r, rng.uniform(0, 2 * math.pi)


def _draw_shape(draw: ImageDraw.ImageDraw, kind: int, geometry, fill) -> None:
    cx, cy, r, angle = geometry
    if kind == 1:
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        return
    corners = 4 if kind == 2 else 3
    turns = [angle + 2 * math.pi * k / corners for k in range(corners)]
    draw.polygon([(cx + r * math.cos(t), cy + r * math.sin(t)) for t in turns], fill=fill)


def _distinct_colour(rng: random.Random, used: list[tuple[int, ...]]) -> tuple[int, ...]:
    """A random colour that stands out from the background and the other shapes."""
    while True:
        colour = tuple(rng.randrange(256) for _ in range(3))
        if all(sum(abs(a - b) for a, b in zip(colour, c, strict=True)) >= 120 for c in used):
            return colour


def _add_noise(image: Image.Image, rng: random.Random) -> Image.Image:
    """Uniform noise in [-NOISE, NOISE] on every pixel and channel."""
    raw = Image.frombytes("RGB", image.size, rng.randbytes(image.width * image.height * 3))
    noise = raw.point(lambda v: v * 2 * NOISE // 255)
    return ImageChops.add(image, noise, 1.0, -NOISE)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _prepare(out: Path, names: set[str]) -> None:
    """Create the folders, refusing one that holds other files; drop samples a previous set had
    beyond this one."""
    if out.exists() and not out.is_dir():
        raise DataError("is a file; give a folder for the shapes set", out)
    if out.is_dir() and any(out.iterdir()) and not _is_shapes_set(out):
        raise DataError(
            "exists and holds other files; give a new or empty folder (or a shapes set to rewrite)",
            out,
        )
    for sub in ("images", "masks"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for p in (out / sub).iterdir():
            if p.name not in names and _OWN_NAME.fullmatch(p.name):
                p.unlink()


def _is_shapes_set(out: Path) -> bool:
    """Whether ``out`` holds only what :func:`make_shapes` writes."""
    try:
        meta = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return False
    top = {"dataset.json", "images", "masks"}
    if any(p.name not in top and not _OWN_NAME.fullmatch(p.name) for p in out.iterdir()):
        return False
    return all(_only_samples(out / sub) for sub in ("images", "masks"))


def _only_samples(folder: Path) -> bool:
    if not folder.exists():
        return True
    return folder.is_dir() and all(_OWN_NAME.fullmatch(p.name) for p in folder.iterdir())
