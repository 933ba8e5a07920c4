"""Shared fixtures: paths to the examples, small designs built in code."""

from __future__ import annotations

import pytest
from common import EXAMPLES, ROOT  # noqa: F401 - re-exported for fixtures

import designer.blocks  # noqa: F401  (registers the block types)
from designer import DesignBuilder


@pytest.fixture
def tiny():
    """Input 3x32x32 -> Conv2d(16) -> ReLU -> Output."""
    b = DesignBuilder("tiny")
    x = b.input((3, 32, 32))
    h = b.add("Conv2d", x, node_id="conv", out_channels=16, padding=1)
    b.output(b.add("ReLU", h, node_id="relu"))
    return b.build()


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module's tests (the training tests: steady on a busy machine)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """A small shapes data set (24 images of 32x32), made once per module."""
    from designer.train.shapes import make_shapes

    return str(make_shapes(tmp_path_factory.mktemp("data") / "shapes", n=24, size=32))
