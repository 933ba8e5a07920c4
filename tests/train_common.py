"""Shared by the training tests: a tiny U-Net, one thread per process."""

from __future__ import annotations

import os
import runpy

from common import EXAMPLES

BUILD = runpy.run_path(str(EXAMPLES / "build_examples.py"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread per process: steady on busy machines
SCORES = ("train_loss", "val_loss", "val_miou")


def tiny_unet(classes: int = 4):
    """The example U-Net at base width 4 on 32x32 images: quick to train on two cores."""
    return BUILD["unet"](n_classes=classes, base=4, size=32, name="tiny_unet")
