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
    h = b.add("Conv2d", x, node_id="conv", out_channels=16)
    b.output(b.add("ReLU", h, node_id="relu"))
    return b.build()
