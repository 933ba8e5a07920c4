"""Ops no block expresses, kept as calls: a ``torch.nn`` layer becomes a ``TorchModule`` node, a
torch or ``torch.nn.functional`` call on one tensor with literal keyword arguments a
``TorchFunction`` node. Each is recorded as opaque ("kept as an opaque call") in the result.

A layer's constructor arguments are read back from the instance by the names its ``__init__``
takes; the layer is then rebuilt from them on the meta device, and kept only when the rebuilt one
prints the same and holds tensors of the same shapes (so the weights load as they are).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import fx, nn

from designer.blocks.torch_call import Refused, resolve
from designer.core.params import Kwargs, ParamError
from designer.interop.importer.mapped import Block, Opaque, clean_params

KEPT = "kept as an opaque call"
_KWARGS = Kwargs("kwargs", "")
_SKIPPED = frozenset({"self", "device", "dtype"})


def literal_kwargs(kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The keyword arguments as the block holds them, None when one is no plain literal."""
    try:
        return _KWARGS.coerce(kwargs)
    except ParamError:
        return None


def wrap_layer(module: nn.Module, inputs: list, path: str) -> tuple[Block, Opaque] | None:
    """A TorchModule block for a layer of a ``torch.nn`` class, or None."""
    cls = type(module)
    target = f"torch.nn.{cls.__name__}"
    if getattr(nn, cls.__name__, None) is not cls or not _resolves("module", target):
        return None
    kwargs = literal_kwargs(_constructor_kwargs(module))
    if kwargs is None or not _rebuilds(module, kwargs):
        return None
    params = clean_params("TorchModule", {"target": target, "kwargs": kwargs})
    return Block("TorchModule", params, inputs, layer=path), Opaque(
        path, f"nn.{cls.__name__}", KEPT
    )


def _constructor_kwargs(module: nn.Module) -> dict[str, Any]:
    """Arguments off their defaults, read from attributes of the same name."""
    try:
        signature = inspect.signature(type(module).__init__)
    except (TypeError, ValueError):
        return {}
    found = {}
    for name, param in signature.parameters.items():
        if name in _SKIPPED or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if hasattr(module, name):
            value = getattr(module, name)
            if param.default is param.empty or value != param.default:
                found[name] = value
    return found


def _rebuilds(module: nn.Module, kwargs: dict[str, Any]) -> bool:
    try:
        with torch.device("meta"):
            twin = type(module)(**kwargs)
    except Exception:
        return False
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    twin_shapes = {k: tuple(v.shape) for k, v in twin.state_dict().items()}
    return repr(twin) == repr(module) and shapes == twin_shapes


def _resolves(kind: str, target: str) -> bool:
    try:
        resolve(kind, target)
    except Refused:
        return False
    return True


def function_target(target: Any) -> str | None:
    """``torch.sin`` or ``torch.nn.functional.gelu`` for a traced call's function, or None."""
    name = getattr(target, "__name__", "")
    module = getattr(target, "__module__", "") or ""
    if module.startswith(("torch.nn.functional", "torch._C._nn")):
        path = f"torch.nn.functional.{name}"
    elif module in ("torch", "torch.functional"):
        path = f"torch.{name}"
    else:
        return None
    return path if _resolves("function", path) else None


def wrap_function(node: fx.Node, ctx, path: str, cls: str) -> tuple[Block, Opaque] | None:
    """A TorchFunction block for ``f(x, **literals)`` with f a torch or F function, or None."""
    if node.op != "call_function" or len(node.args) != 1 or not ctx.is_tensor(node.args[0]):
        return None
    target = function_target(node.target)
    if target is None or any(ctx.reads_sizes(v) for v in node.kwargs.values()):
        return None  # sizes read from a tensor hold for the example only
    try:
        kwargs = {k: ctx.const(v, k) for k, v in node.kwargs.items()}
    except ValueError:
        return None
    kwargs = literal_kwargs(kwargs)
    if kwargs is None:
        return None
    params = clean_params("TorchFunction", {"target": target, "kwargs": kwargs})
    return Block("TorchFunction", params, [node.args[0]]), Opaque(path, target, KEPT, cls)
