"""Every traced node's example value, computed on the meta device while tracing.

Tensors are meta tensors of the example shapes; sizes, ranks and other Python values come out as
in a real run, so ``x.size(0)`` and the pad amounts of the seed's ``Up`` can be folded or checked,
and ``x.dim()`` can drive a loop. Layers run on meta twins of their weights: the model itself is
never touched, and no arithmetic is done. Ops whose meta kernels are slow Python get their
results from torch's size formulas instead (same-shape ops here, common layers and calls in
``metashapes``). A node that cannot run on the meta device gets :data:`UNKNOWN` (as does
everything computed from it).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx import _symbolic_trace

from designer.interop.importer.devices import moved_tensor
from designer.interop.importer.metashapes import function_value, layer_value


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


# Ops whose output has their input's shape and dtype: computed as such, since the meta device
# runs many of them through slow Python decompositions (batch norm: milliseconds a call).
_SAME_TYPES = frozenset(
    {getattr(nn, f"{kind}{n}d") for kind in ("BatchNorm", "InstanceNorm") for n in (1, 2, 3)}
    | {
        nn.GroupNorm,
        nn.LayerNorm,
        nn.ReLU,
        nn.ReLU6,
        nn.LeakyReLU,
        nn.ELU,
        nn.GELU,
        nn.SiLU,
        nn.Mish,
        nn.Hardswish,
        nn.Hardsigmoid,
        nn.Sigmoid,
        nn.Tanh,
        nn.Softmax,
        nn.LogSoftmax,
        nn.Dropout,
        nn.Dropout1d,
        nn.Dropout2d,
        nn.Dropout3d,
        nn.Identity,
        nn.RMSNorm,
        nn.Softplus,
        nn.PReLU,
        nn.ChannelShuffle,
    }
)
SAME_SHAPE_FUNCTIONS = frozenset(
    {
        F.relu, torch.relu, torch.relu_, F.relu6, F.leaky_relu, F.elu, F.gelu, F.silu, F.mish,
        F.hardswish, torch.sigmoid, F.sigmoid, torch.tanh, F.tanh, F.softmax, torch.softmax,
        F.log_softmax, torch.log_softmax, F.dropout,
    }
)  # fmt: skip
SAME_SHAPE_METHODS = frozenset(
    {"relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "softmax", "log_softmax",
     "contiguous", "clone"}
)  # fmt: skip


def same_shape(node: fx.Node, modules: dict[str, nn.Module]) -> bool:
    """Whether ``node`` keeps its first argument's shape and dtype (see _SAME_TYPES)."""
    if node.op == "call_module":
        return type(modules[node.target]) in _SAME_TYPES
    if node.op == "call_function":
        return node.target in SAME_SHAPE_FUNCTIONS
    return node.op == "call_method" and node.target in SAME_SHAPE_METHODS


def _empty_like(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """A meta tensor of ``x``'s shape and dtype (``torch.empty_like`` is 20x slower on meta)."""
    return torch.empty(x.shape, dtype=x.dtype, device="meta")


def _broadcast(a: Any, b: Any) -> torch.Tensor:
    """The meta result of ``a + b`` or ``a * b`` for two tensors, without the meta kernels."""
    shape = torch.broadcast_shapes(a.shape, b.shape)
    return torch.empty(shape, dtype=torch.promote_types(a.dtype, b.dtype), device="meta")


_ELEMENTWISE = frozenset({operator.add, operator.iadd, operator.mul, operator.imul})


def recurrent_outputs(module: nn.RNNBase, x: torch.Tensor) -> tuple:
    """What an LSTM, GRU or RNN returns for a batched ``x``, as meta tensors (the meta device
    runs the recurrence step by step through slow decompositions)."""
    batch, steps = (x.shape[0], x.shape[1]) if module.batch_first else (x.shape[1], x.shape[0])
    directions = 2 if module.bidirectional else 1
    width = getattr(module, "proj_size", 0) or module.hidden_size
    layout = (batch, steps) if module.batch_first else (steps, batch)
    out = torch.empty((*layout, directions * width), dtype=x.dtype, device="meta")
    h = torch.empty((module.num_layers * directions, batch, width), dtype=x.dtype, device="meta")
    if not isinstance(module, nn.LSTM):
        return out, h
    c = torch.empty((*h.shape[:2], module.hidden_size), dtype=x.dtype, device="meta")
    return out, (h, c)


@contextmanager
def untraced_modules() -> Iterator[None]:
    """Module calls and attributes as outside tracing, for a layer whose forward calls layers
    of its own (a Transformer layer's attention and feed-forward)."""
    traced = nn.Module.__call__, nn.Module.__getattr__
    nn.Module.__call__ = _symbolic_trace._orig_module_call
    nn.Module.__getattr__ = _symbolic_trace._orig_module_getattr
    try:
        yield
    finally:
        nn.Module.__call__, nn.Module.__getattr__ = traced


def meta_like(value: Any) -> Any:
    """A tensor's meta twin (same shape and dtype); other values as they are."""
    if isinstance(value, torch.Tensor):
        return torch.empty(value.shape, dtype=value.dtype, device="meta")
    return value


def _has_state(module: nn.Module) -> bool:
    return bool(module._parameters or module._buffers)


def meta_module(module: nn.Module) -> nn.Module:
    """A shallow copy of a module whose weights and buffers are meta tensors."""
    if not _has_state(module) and not module._modules:
        return module
    twin = object.__new__(type(module))  # a shallow copy, without copy.copy's detours
    twin.__dict__ = dict(module.__dict__)
    twin._parameters = {k: meta_like(v) for k, v in module._parameters.items()}
    twin._buffers = {k: meta_like(v) for k, v in module._buffers.items()}
    twin._modules = {k: meta_module(m) for k, m in module._modules.items()}
    if isinstance(module, nn.RNNBase):  # it runs on a list of its weights, kept apart
        twin._flat_weights = [twin._parameters.get(n) for n in module._flat_weights_names]
    return twin


class MetaValues:
    """Node -> example value, filled one node at a time as the tracer creates them."""

    def __init__(self, root: nn.Module, inputs: tuple) -> None:
        self.root = root
        # by path, read once: while tracing, attribute access on modules is the tracer's (slow)
        self.modules = dict(root.named_modules())
        self.values: dict[fx.Node, Any] = {}
        self._inputs = iter([meta_like(x) for x in inputs])

    def get(self, node: Any, default: Any = UNKNOWN) -> Any:
        return self.values.get(node, default)

    def __getitem__(self, node: fx.Node) -> Any:
        return self.values[node]

    def add(self, node: fx.Node) -> Any:
        """Compute and store ``node``'s value from its (already known) arguments."""
        self.values[node] = value = self._compute(node)
        return value

    def _compute(self, node: fx.Node) -> Any:
        if node.op == "placeholder":
            return next(self._inputs, UNKNOWN)
        if node.op == "output":
            return None
        found: list[bool] = []
        args = fx.node.map_arg(node.args, lambda n: self._known(n, found))
        kwargs = fx.node.map_arg(node.kwargs, lambda n: self._known(n, found))
        if found:
            return UNKNOWN
        try:
            return self._run(node, args, kwargs)
        except Exception:  # an op the meta device lacks: what depends on it stays unknown
            return UNKNOWN

    def _known(self, node: fx.Node, found: list[bool]) -> Any:
        value = self.values.get(node, UNKNOWN)
        if value is UNKNOWN:
            found.append(True)
        return value

    def _run(self, node: fx.Node, args: tuple, kwargs: dict) -> Any:
        if moved_tensor(node, self) is not None:  # x.to(device): the same meta value
            return args[0]
        if args and isinstance(args[0], torch.Tensor):
            if same_shape(node, self.modules):
                return _empty_like(args[0])
            if node.target in _ELEMENTWISE and all(isinstance(a, torch.Tensor) for a in args):
                return _broadcast(*args)
        if node.op == "call_module":
            module = self.modules[node.target]
            known = layer_value(module, args, kwargs)  # sizes by torch's formulas, no kernel
            if known is not None:
                return known
            if isinstance(module, nn.RNNBase) and len(args) == 1 and args[0].dim() == 3:
                out, state = recurrent_outputs(module, args[0])
                flat = type(module) not in (nn.LSTM, nn.GRU, nn.RNN)  # designer's: out, h, c
                return (out, *state) if flat and isinstance(state, tuple) else (out, state)
            # forward, not __call__: while tracing, module calls are the tracer's; a layer
            # without children calls none (and patching nn.Module costs a millisecond)
            if not module._modules:
                return meta_module(module).forward(*args, **kwargs)
            with untraced_modules():
                return meta_module(module).forward(*args, **kwargs)
        if node.op == "call_function":
            known = function_value(node.target, args, kwargs)
            return node.target(*args, **kwargs) if known is None else known
        if node.op == "call_method":
            self_obj, *rest = args
            return getattr(self_obj, node.target)(*rest, **kwargs)
        if node.op == "get_attr":
            return meta_like(self._attribute(node.target))
        return UNKNOWN

    def _attribute(self, target: str) -> Any:
        """A tensor a module holds, read from its tables: while tracing, ``getattr`` on a module
        would make the tracer record another node."""
        owner, _, name = target.rpartition(".")
        module = self.modules[owner]
        for table in (module._parameters, module._buffers, module.__dict__):
            if name in table:
                return table[name]
        return UNKNOWN


def is_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor)


def holds_tensors(value: Any) -> bool:
    """A tuple or list with tensors among its items (nested too): a layer's several outputs."""
    return isinstance(value, (tuple, list)) and any(is_tensor(v) or holds_tensors(v) for v in value)


def shape_of(value: Any) -> tuple[int, ...] | None:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None
