"""``torch.nn`` layers rebuilt from an exported program, which keeps their weights and the ATen
call they made but not the layers: ``aten.conv2d(x, w, b, stride, padding...)`` in the scope of
``torch.nn.modules.conv.Conv2d`` becomes that ``nn.Conv2d`` again, its weights loaded.

Layers without state need no rebuilding (their ATen calls map as functions); a layer with
state that no entry here rebuilds stays as its calls, which are then reported by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import fx, nn

A = torch.ops.aten


def _fill(args: tuple, defaults: tuple) -> tuple:
    """Positional arguments with the defaults of those left out."""
    return (*args, *defaults[len(args) :])


def _conv(cls: type, args: tuple) -> nn.Module:
    _, w, b, stride, padding, dilation, groups = _fill(args, (None, None, None, 1, 0, 1, 1))
    channels, kernel = w.shape[1] * groups, tuple(w.shape[2:])
    return cls(channels, w.shape[0], kernel, stride, padding, dilation, groups, b is not None)


def _conv_transpose(cls: type, args: tuple) -> nn.Module:
    defaults = (None, None, None, 1, 0, 0, 1, 1)
    _, w, b, stride, padding, output_padding, groups, dilation = _fill(args, defaults)
    out, kernel, bias = w.shape[1] * groups, tuple(w.shape[2:]), b is not None
    return cls(w.shape[0], out, kernel, stride, padding, output_padding, groups, bias, dilation)


def _linear(cls: type, args: tuple) -> nn.Module:
    _, w, b = _fill(args, (None, None, None))
    return cls(w.shape[1], w.shape[0], bias=b is not None)


def _batch_norm(cls: type, args: tuple) -> nn.Module:
    """``aten.batch_norm(x, w, b, mean, var, training, momentum, eps, cudnn)``."""
    _, w, _, mean, _, _, momentum, eps, _ = args
    size = (w if w is not None else mean).shape[0]
    return cls(size, eps, momentum, affine=w is not None, track_running_stats=mean is not None)


def _eval_batch_norm(cls: type, args: tuple) -> nn.Module:
    """``aten._native_batch_norm_legit_no_training(x, w, b, mean, var, momentum, eps)``."""
    x, w, b, mean, var, momentum, eps = args
    return _batch_norm(cls, (x, w, b, mean, var, False, momentum, eps, False))


def _layer_norm(cls: type, args: tuple) -> nn.Module:
    _, shape, w, b, eps = _fill(args, (None, None, None, None, 1e-5))[:5]
    return cls(shape, eps, elementwise_affine=w is not None, bias=b is not None)


def _group_norm(cls: type, args: tuple) -> nn.Module:
    _, groups, w, _, eps = _fill(args, (None, None, None, None, 1e-5))[:5]
    return cls(groups, w.shape[0], eps, affine=w is not None)


def _embedding(cls: type, args: tuple) -> nn.Module:
    w, _, padding = _fill(args, (None, None, -1))[:3]
    return cls(w.shape[0], w.shape[1], None if padding == -1 else padding)


Rebuilder = Callable[[type, tuple], nn.Module]
REBUILDERS: dict[Any, Rebuilder] = {
    A.linear.default: _linear,
    A.batch_norm.default: _batch_norm,
    A._native_batch_norm_legit_no_training.default: _eval_batch_norm,
    A.layer_norm.default: _layer_norm,
    A.group_norm.default: _group_norm,
    A.embedding.default: _embedding,
}
for _n in (1, 2, 3):
    REBUILDERS[getattr(A, f"conv{_n}d").default] = _conv
    REBUILDERS[getattr(A, f"conv{_n}d").padding] = _conv
    for _overload in getattr(A, f"conv_transpose{_n}d").overloads():
        REBUILDERS[getattr(getattr(A, f"conv_transpose{_n}d"), _overload)] = _conv_transpose


def _value(module: nn.Module, arg: Any) -> Any:
    """A call's argument, a weight it reads (a get_attr node) as the tensor."""
    if not isinstance(arg, fx.Node) or arg.op != "get_attr":
        return arg
    owner, _, name = arg.target.rpartition(".")
    return getattr(module.get_submodule(owner), name)


def rebuild(module: nn.Module, cls: type) -> nn.Module | None:
    """The ``torch.nn`` layer of class ``cls`` that the exported ``module`` (one layer's call)
    stands for, its weights loaded; None when no rule knows its call or it does not fit."""
    calls = [n for n in module.graph.nodes if n.op == "call_function" and n.target in REBUILDERS]
    if len(calls) != 1:
        return None
    (call,) = calls
    try:
        layer = REBUILDERS[call.target](cls, tuple(_value(module, a) for a in call.args))
        layer.load_state_dict(module.state_dict(), strict=True)
    except (TypeError, ValueError, RuntimeError, AttributeError):
        return None
    return layer
