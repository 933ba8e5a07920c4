"""Training data's types: the samples a data set yields, their description and the error every
reader raises. Copied verbatim into generated training scripts, like all of the recipe."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

LAYOUTS = (
    "a folder with images/ and masks/ (segmentation), a folder with one sub-folder of images per "
    "class (classification), or a .safetensors or .npz file holding tensors x and y"
)


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
