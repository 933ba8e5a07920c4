"""Synthetic designs for benchmarks: deep residual stacks of any size."""

from __future__ import annotations

from designer import Design, DesignBuilder


def residual_stack(n_nodes: int, channels: int = 32, size: int = 64) -> Design:
    """A design of about ``n_nodes`` nodes: residual blocks of conv, norm, ReLU and an Add skip."""
    b = DesignBuilder(f"residual_{n_nodes}")
    h = b.input((channels, size, size), node_id="x")
    i = 0
    while len(b.design) < n_nodes - 1:
        y = b.add("Conv2d", h, node_id=f"conv{i}a", out_channels=channels, kernel_size=3, padding=1)
        y = b.add("BatchNorm2d", y, node_id=f"bn{i}")
        y = b.add("ReLU", y, node_id=f"relu{i}")
        y = b.add("Conv2d", y, node_id=f"conv{i}b", out_channels=channels, kernel_size=3, padding=1)
        h = b.add("Add", y, h, node_id=f"add{i}")
        i += 1
    b.output(h, node_id="y")
    return b.build()
