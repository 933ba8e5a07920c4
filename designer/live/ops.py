"""Functional ops made callable: the targets a :class:`~designer.core.forms.Functional` names.

Helper functions are defined here once, as plain Python: the live model calls them, and the code
generator copies their source into the generated file (so each must use only ``torch`` and ``F``
and builtins, and keep the docstring it should have there).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from designer.core.forms import INFIX, Functional


def pad_to_match(x, ref):
    """Pad (or crop) the spatial dimensions of x, centred, to those of ref."""
    pad = []
    for axis in range(x.dim() - 1, 1, -1):
        diff = ref.size(axis) - x.size(axis)
        pad += [diff // 2, diff - diff // 2]
    return F.pad(x, pad)


def reshape(x, shape):
    """Reshape each sample of x to shape (one size may be -1); the first dimension stays."""
    return x.reshape(x.size(0), *shape)


def slice_dim(x, dim, start, end, step):
    """x[start:end:step] along dimension dim: slice_dim(x, 1, 1, None, 1) is x[:, 1:]."""
    before = (slice(None),) * range(x.dim())[dim]  # the dimensions before dim, kept whole
    return x[(*before, slice(start, end, step))]


def scale(x, factor):
    """x times a constant factor."""
    return x * factor


def add_scalar(x, value):
    """x plus a constant value."""
    return x + value


def resize_like(x, like, mode, align_corners):
    """Resize the spatial dimensions of x to those of like (align_corners: interpolating modes)."""
    corners = align_corners if mode in ("linear", "bilinear", "bicubic", "trilinear") else None
    return F.interpolate(x, size=like.shape[2:], mode=mode, align_corners=corners)


HELPERS: dict[str, Callable] = {"pad_to_match": pad_to_match, "resize_like": resize_like}
HELPERS.update(reshape=reshape, slice_dim=slice_dim, scale=scale, add_scalar=add_scalar)


def target(functional: Functional, params: Mapping[str, Any] | None = None) -> Callable:
    """The function a declaration names: a torch function, a helper or an operator's."""
    if functional.infix:
        return getattr(operator, INFIX[functional.target])
    if functional.helpers:
        return HELPERS[functional.target]
    name = functional.target_name(params or {})
    root, *path = name.split(".")
    if root != "torch" or any(part.startswith("_") for part in path):
        raise ValueError(f"functional target {name!r} is not a public torch function")
    return functools.reduce(getattr, path, torch)


def bind(
    functional: Functional, params: Mapping[str, Any], names: tuple[str, ...] = ()
) -> Callable[[list], Any]:
    """A callable on the list of input tensors (in port order), the node's parameters bound;
    the last ``len(names)`` tensors are passed as those keyword arguments (optional ports)."""
    fn, keywords = target(functional, params), functional.arguments(params)
    if functional.infix:
        return lambda tensors: functools.reduce(fn, tensors)
    if functional.packed:
        return lambda tensors: fn(tensors, **keywords)
    if names:
        n = len(names)
        return lambda tensors: fn(
            *tensors[:-n], **keywords, **dict(zip(names, tensors[-n:], strict=True))
        )
    return lambda tensors: fn(*tensors, **keywords)


def run(functional: Functional, params: Mapping[str, Any], tensors: list) -> Any:
    """Apply the op once to ``tensors``."""
    return bind(functional, params)(tensors)
