"""Layers of the normalisation family (see designer.live.layers)."""

from __future__ import annotations

LAYERS: tuple[type, ...] = ()
