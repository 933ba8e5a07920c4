"""Example values of common layers and calls computed from their arguments' sizes.

The meta device runs a linear layer, attention, adaptive pooling, interpolation and ``torch.cat``
through Python decompositions (a millisecond and more a call, several for attention). Their
output sizes follow torch's formulas, read here from the layer's own attributes: each function
returns the meta tensor(s) torch would, or ``None`` where an argument is anything but the plain
case it checks for (an unexpected rank, size or dtype, a mask, a padding mode), and the caller
then runs the op on the meta device as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from designer.core.shapes import conv_out
from designer.interop.importer.foreign import foreign

Tensor = torch.Tensor


def _weight(m: nn.Module, child: str = "") -> Any:
    """A layer's (or its child's) weight, read from its tables: while tracing, attribute access
    on a module is the tracer's, and would record a node."""
    if child:
        m = m._modules.get(child)
    return None if m is None else m._parameters.get("weight")


def _empty(shape, dtype: torch.dtype) -> Tensor:
    return torch.empty(tuple(shape), dtype=dtype, device="meta")


def _floating(x: Any) -> bool:
    """A floating-point tensor with no empty dimension."""
    return isinstance(x, Tensor) and x.is_floating_point() and all(x.shape)


def _fits(x: Any, weight: Any) -> bool:
    """A floating-point tensor (no empty dimension) of the dtype of a layer's ``weight``."""
    return isinstance(weight, Tensor) and _floating(x) and weight.dtype == x.dtype


def _linear(m: nn.Linear, x: Any) -> Tensor | None:
    if not _fits(x, _weight(m)) or x.dim() < 1 or x.shape[-1] != m.in_features:
        return None
    return _empty((*x.shape[:-1], m.out_features), x.dtype)


def _conv(m: nn.Module, x: Any) -> Tensor | None:
    n = len(m.kernel_size)
    if not _fits(x, _weight(m)) or x.dim() not in (n + 1, n + 2) or m.padding_mode != "zeros":
        return None
    if x.shape[-n - 1] != m.in_channels:
        return None
    spatial = x.shape[-n:]
    if m.padding == "same":
        return _empty((*x.shape[: -n - 1], m.out_channels, *spatial), x.dtype)
    padding = (0,) * n if m.padding == "valid" else m.padding
    windows = zip(spatial, padding, m.dilation, m.kernel_size, m.stride, strict=True)
    sizes = [conv_out(size, k, s, p, d) for size, p, d, k, s in windows]
    if min(sizes) < 1:
        return None
    return _empty((*x.shape[: -n - 1], m.out_channels, *sizes), x.dtype)


def _adaptive(m: nn.Module, x: Any) -> Tensor | None:
    n = int(type(m).__name__[-2])  # AdaptiveAvgPool2d -> 2
    if not _floating(x) or x.dim() not in (n + 1, n + 2) or m.__dict__.get("return_indices", False):
        return None
    wanted = (m.output_size,) * n if isinstance(m.output_size, int) else tuple(m.output_size)
    if len(wanted) != n:
        return None
    sizes = [size if w is None else w for w, size in zip(wanted, x.shape[-n:], strict=True)]
    if not all(isinstance(s, int) and s > 0 for s in sizes):
        return None
    return _empty((*x.shape[:-n], *sizes), x.dtype)


_MHA = inspect.signature(nn.MultiheadAttention.forward)


def _attention(m: nn.MultiheadAttention, *args: Any, **kwargs: Any) -> tuple | None:
    try:
        call = _MHA.bind(m, *args, **kwargs)
    except TypeError:
        return None
    call.apply_defaults()
    a = call.arguments
    q, k, v = a["query"], a["key"], a["value"]
    if any(a[n] is not None for n in ("key_padding_mask", "attn_mask")) or a["is_causal"]:
        return None
    if m._parameters.get("bias_k") is not None or m.add_zero_attn:  # keys one longer
        return None
    weight = _weight(m, "out_proj")
    if not all(_fits(t, weight) and t.dim() == 3 for t in (q, k, v)):
        return None
    batch_axis = 0 if m.batch_first else 1
    batch, length, source = q.shape[batch_axis], q.shape[1 - batch_axis], k.shape[1 - batch_axis]
    if (q.shape[-1], k.shape[-1], v.shape[-1]) != (m.embed_dim, m.kdim, m.vdim):
        return None
    if k.shape[:-1] != v.shape[:-1] or k.shape[batch_axis] != batch:
        return None
    out = _empty(q.shape, q.dtype)
    if not a["need_weights"]:
        return out, None
    heads = () if a["average_attn_weights"] else (m.num_heads,)
    return out, _empty((batch, *heads, length, source), q.dtype)


def _window_attention(m: nn.Module, x: Any) -> Tensor | None:
    """Swin's window attention: ``[B, H, W, C]`` in and out."""
    qkv = m._modules.get("qkv")
    if not isinstance(qkv, nn.Linear) or not _fits(x, _weight(qkv)):
        return None
    if x.dim() != 4 or x.shape[-1] != qkv.in_features:
        return None
    return _empty(x.shape, x.dtype)


def _patch_merging(m: nn.Module, x: Any) -> Tensor | None:
    """Swin's patch merging: ``[..., H, W, C]`` -> ``[..., ceil(H/2), ceil(W/2), 2C]``."""
    reduction = m._modules.get("reduction")
    if type(reduction) is not nn.Linear or not _fits(x, _weight(reduction)) or x.dim() < 3:
        return None
    if 4 * x.shape[-1] != reduction.in_features:
        return None
    h, w = (x.shape[-3] + 1) // 2, (x.shape[-2] + 1) // 2
    return _empty((*x.shape[:-3], h, w, reduction.out_features), x.dtype)


_LAYERS: dict[type, Callable] = {
    nn.Linear: _linear,
    nn.Conv1d: _conv,
    nn.Conv2d: _conv,
    nn.Conv3d: _conv,
    nn.AdaptiveAvgPool1d: _adaptive,
    nn.AdaptiveAvgPool2d: _adaptive,
    nn.AdaptiveAvgPool3d: _adaptive,
    nn.AdaptiveMaxPool1d: _adaptive,
    nn.AdaptiveMaxPool2d: _adaptive,
    nn.AdaptiveMaxPool3d: _adaptive,
    nn.MultiheadAttention: _attention,
}
_FOREIGN = {
    "ShiftedWindowAttention": _window_attention,
    "ShiftedWindowAttentionV2": _window_attention,
    "PatchMerging": _patch_merging,
    "PatchMergingV2": _patch_merging,
}


def layer_value(module: nn.Module, args: tuple, kwargs: dict) -> Any:
    """What ``module(*args, **kwargs)`` returns on the meta device, or None (run it instead)."""
    rule = _LAYERS.get(type(module))
    if rule is None:
        entry = foreign(type(module))
        rule = entry and _FOREIGN.get(entry[0])
    if rule is None:
        return None
    if rule is not _attention and (kwargs or len(args) != 1):
        return None
    try:
        return rule(module, *args, **kwargs)
    except Exception:  # an argument of a form the rule did not foresee: the meta device decides
        return None


def _cat(tensors: Any, dim: Any = 0) -> Tensor | None:
    if not isinstance(tensors, (list, tuple)) or not tensors or not isinstance(dim, int):
        return None
    first = tensors[0]
    if not all(_floating(t) and t.dtype == first.dtype and t.dim() == first.dim() for t in tensors):
        return None
    rank = first.dim()
    if rank == 0 or not -rank <= dim < rank:
        return None
    dim %= rank
    rest = [t.shape[:dim] + t.shape[dim + 1 :] for t in tensors]
    if any(r != rest[0] for r in rest):
        return None
    total = sum(t.shape[dim] for t in tensors)
    return _empty((*first.shape[:dim], total, *first.shape[dim + 1 :]), first.dtype)


_MODES = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3), "linear": (1,)}
_MODES |= {"bilinear": (2,), "bicubic": (2,), "trilinear": (3,)}
_CORNERS = ("linear", "bilinear", "bicubic", "trilinear")  # the modes align_corners applies to
_INTERPOLATE = inspect.signature(F.interpolate)


def _interpolate(*args: Any, **kwargs: Any) -> Tensor | None:
    """``F.interpolate`` to a given ``size`` (a scale factor is left to the meta device)."""
    try:
        call = _INTERPOLATE.bind(*args, **kwargs)
    except TypeError:
        return None
    call.apply_defaults()
    a = call.arguments
    x, size, mode = a["input"], a["size"], a["mode"]
    if not _floating(x) or a["scale_factor"] is not None or a["antialias"] or size is None:
        return None
    if a["recompute_scale_factor"] or (a["align_corners"] is not None and mode not in _CORNERS):
        return None
    n = x.dim() - 2
    if n not in _MODES.get(mode, ()):
        return None
    sizes = [size] * n if isinstance(size, int) else list(size)
    if len(sizes) != n or not all(type(s) is int and s > 0 for s in sizes):
        return None
    return _empty((*x.shape[:2], *sizes), x.dtype)


_FUNCTIONS: dict[Any, Callable] = {torch.cat: _cat, torch.concat: _cat, F.interpolate: _interpolate}


def function_value(target: Any, args: tuple, kwargs: dict) -> Any:
    """What ``target(*args, **kwargs)`` returns on the meta device, or None (call it instead)."""
    rule = _FUNCTIONS.get(target)
    if rule is None:
        return None
    try:
        return rule(*args, **kwargs)
    except Exception:  # arguments of another form than torch's documented ones
        return None
