"""Training data: a folder or tensor file opened as a torch Dataset, and a train/validation split.

Layouts: a segmentation folder (``images/`` + ``masks/`` paired by file stem; masks are
single-channel PNGs holding one class index per pixel; an optional ``dataset.json`` names the
classes), a classification folder (one sub-folder of images per class, classes sorted by name), or
tensors ``x`` and ``y`` in a ``.safetensors`` or ``.npz`` file (the task follows ``y``). Every
error is a :class:`DataError` naming the file and what would fix it.

The readers live in :mod:`.image_folders` and :mod:`.tensor_files`, the types in :mod:`.samples`;
all are copied verbatim into generated training scripts: they import only the standard library,
torch and Pillow.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from designer.train.recipe.image_folders import open_folder  # recipe-local
from designer.train.recipe.samples import LAYOUTS, DataError, Samples  # recipe-local
from designer.train.recipe.samples import DataSpec as DataSpec  # recipe-local
from designer.train.recipe.tensor_files import TENSOR_SUFFIXES, open_tensor_file  # recipe-local


def open_data(path: str | os.PathLike) -> Samples:
    """Open a data set in any of the accepted layouts; raises :class:`DataError`."""
    path = Path(path)
    if path.is_dir():
        return open_folder(path)
    if not path.exists():
        raise DataError(f"does not exist; give {LAYOUTS}", path)
    if path.suffix.lower() in TENSOR_SUFFIXES:
        return open_tensor_file(path)
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
