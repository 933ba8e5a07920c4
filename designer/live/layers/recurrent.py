"""Layers of the recurrent family (see designer.live.layers)."""

from __future__ import annotations

LAYERS: tuple[type, ...] = ()
