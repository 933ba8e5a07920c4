"""``designer data``: make the shapes set, or show what a data set holds as training sees it."""

from __future__ import annotations

import sys
import time
from collections import Counter

from designer.cli.usage import UsageError


def add_parser(sub):
    p = sub.add_parser("data", help="make the shapes data set, or inspect a data set")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    shapes = actions.add_parser("shapes", help="write the shapes segmentation set")
    shapes.add_argument("out_dir", metavar="OUT_DIR", help="a new or empty folder")
    shapes.add_argument("--n", type=int, default=256, help="number of images (default 256)")
    shapes.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    shapes.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    info = actions.add_parser("info", help="show what a data folder or tensor file holds")
    info.add_argument("path", metavar="PATH", help="a data folder, .safetensors or .npz file")
    return p


def run(args) -> int:
    from designer.train.recipe.data import DataError  # torch and Pillow: loaded only here

    try:
        return _shapes(args) if args.action == "shapes" else _info(args.path)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _shapes(args) -> int:
    if args.n < 2:
        raise UsageError(f"--n {args.n}: give at least 2 images")
    if not 8 <= args.size <= 1024:
        raise UsageError(f"--size {args.size}: give a side from 8 to 1024 pixels")
    from designer.train.recipe.data import open_data
    from designer.train.shapes import make_shapes

    start = time.perf_counter()
    out = make_shapes(args.out_dir, n=args.n, size=args.size, seed=args.seed)
    seconds = time.perf_counter() - start
    samples = open_data(out)
    print(
        f"wrote {args.n} images and masks ({args.size}×{args.size}, seed {args.seed}) to {out} "
        f"in {seconds:.1f} s; pixels: {_shares(samples)}"
    )
    return 0


def _info(path: str) -> int:
    from designer.train.recipe.data import open_data

    samples = open_data(path)
    spec = samples.spec
    size = f"{spec.size[0]}×{spec.size[1]}" if spec.size else "varying size"
    classes = f", {spec.num_classes} classes" if spec.num_classes is not None else ""
    print(
        f"{path}: {spec.task}, {len(samples)} samples{classes}, {size}, "
        f"{spec.in_channels} input channel{'s' * (spec.in_channels != 1)}"
    )
    if spec.task == "segmentation":
        print(f"  pixels: {_shares(samples)}")
    elif spec.task == "classification":
        counts = Counter(samples.class_max)
        per_class = (f"{_name(spec, c)} {counts[c]}" for c in range(spec.num_classes))
        print(f"  samples: {', '.join(per_class)}")
    return 0


def _shares(samples) -> str:
    """Each class's share of all mask pixels, as ``background 76.8%, circle 8.1%, ...``."""
    import torch

    spec = samples.spec
    counts = torch.zeros(spec.num_classes, dtype=torch.int64)
    for i in range(len(samples)):
        counts += torch.bincount(samples.target(i).flatten(), minlength=spec.num_classes)
    total = max(int(counts.sum()), 1)
    return ", ".join(f"{_name(spec, c)} {100 * int(n) / total:.1f}%" for c, n in enumerate(counts))


def _name(spec, c: int) -> str:
    return spec.classes[c] if spec.classes and c < len(spec.classes) else f"class {c}"
