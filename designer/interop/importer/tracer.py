"""Symbolic tracing that keeps the module hierarchy.

A ``torch.fx`` tracer whose leaves are the layers of ``torch.nn`` (those the vocabulary maps and
those it does not, so that an unknown layer is reported by name rather than traced into). Every
other module call (the user's own classes, such as ``DoubleConv``) is traced through but recorded
as a :class:`ScopeCall`: its path, its arguments and its return values. Each graph node is tagged
with the scope it was created in, so the flat graph can be cut back into one body per call.
``nn.Sequential``, ``nn.ModuleList`` and ``nn.ModuleDict`` are no scopes: their members belong to
the module that holds them.
"""

from __future__ import annotations

import inspect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from torch import fx, nn
from torch.utils import _pytree as pytree

from designer.interop.importer.exported import Unflattened
from designer.interop.importer.foreign import foreign
from designer.interop.importer.mapped import where
from designer.interop.importer.ownlayers import OWN
from designer.interop.importer.values import UNKNOWN, MetaValues, is_tensor

SCOPE = "designer_scope"  # node.meta key: index of the ScopeCall the node was created in
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


class TraceFailed(RuntimeError):
    """torch.fx could not trace the model; ``path`` names the module being traced."""

    def __init__(self, path: str, cls: str, error: BaseException) -> None:
        place = where(path, cls)
        super().__init__(f"tracing stopped in {place}: {type(error).__name__}: {error}")
        self.path, self.cls, self.error = path, cls, error


@dataclass
class ScopeCall:
    """One call of a non-leaf module: a future composite instance (index 0 is the model)."""

    index: int
    path: str
    module: nn.Module
    parent: int | None
    start: int  # graph size when the call began: orders it among its siblings
    inputs: list[tuple[str, Any]] = field(default_factory=list)  # (port name, fx.Node)
    listed: bool = False  # a list or tuple of tensors was passed (DenseNet's layers)
    outputs: list[Any] = field(default_factory=list)  # fx.Node (or a constant)

    @property
    def cls(self) -> str:
        return type(self.module).__name__


@dataclass
class Trace:
    """The flat graph, the module calls that structure it, and how often each leaf ran."""

    graph: fx.Graph
    root: nn.Module
    scopes: list[ScopeCall]
    leaf_calls: Counter
    values: MetaValues
    branches: list[str]


def port_names(module: nn.Module, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
    """The tensor-carrying arguments of a call, named after ``forward``'s parameters."""
    try:
        signature = inspect.signature(module.forward)
        bound = signature.bind(*args, **kwargs)
    except (TypeError, ValueError):
        return _flat_ports("x", list(args) + list(kwargs.values()))
    named: list[tuple[str, Any]] = []
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            named += _flat_ports("x", list(value))
        elif kind is inspect.Parameter.VAR_KEYWORD:
            for key, item in value.items():
                named += _flat_ports(key, [item])
        else:
            named += _flat_ports(name, [value])
    return named


def _flat_ports(stem: str, values: list) -> list[tuple[str, Any]]:
    """``x`` for one proxy, ``x1``, ``x2``... for several (nested lists flattened)."""
    nodes = [v.node for v in pytree.tree_leaves(values) if isinstance(v, fx.Proxy)]
    if len(nodes) == 1:
        return [(stem, nodes[0])]
    return [(f"{stem}{i}", node) for i, node in enumerate(nodes, start=1)]


def _listed(args: tuple, kwargs: dict) -> bool:
    """Whether a list or tuple holding proxies is among the arguments."""
    values = list(args) + list(kwargs.values())
    return any(
        isinstance(v, (list, tuple)) and any(isinstance(i, fx.Proxy) for i in pytree.tree_leaves(v))
        for v in values
    )


def is_container(module: nn.Module) -> bool:
    """A Sequential, ModuleList or ModuleDict that keeps its class's forward: its members belong
    to the module holding it. A subclass with a forward of its own (DenseNet's ``_DenseBlock``)
    is a module of the user's."""
    base = next((c for c in CONTAINERS if isinstance(module, c)), None)
    return base is not None and getattr(type(module), "forward", None) is base.forward


def _graph_values(value: Any) -> list[Any]:
    """Return values as graph nodes (constants stay as they are), flattened."""
    return [v.node if isinstance(v, fx.Proxy) else v for v in pytree.tree_leaves(value)]


class MetaProxy(fx.Proxy):
    """A proxy whose rank is known: ``x.dim()`` and ``x.ndim`` are plain ints, so that loops
    over the axes unroll (sizes stay symbolic, and so traceable to the tensors they come from)."""

    def dim(self) -> Any:
        value = self.tracer.values.get(self.node)
        if is_tensor(value):
            return value.dim()
        return self.tracer.create_proxy("call_method", "dim", (self,), {})

    @property
    def ndim(self) -> Any:
        return self.dim()


class HierarchyTracer(fx.Tracer):
    """A tracer that records module calls as scopes and takes exactly the example inputs."""

    def __init__(
        self,
        input_names: list[str],
        values: MetaValues,
        inline: set[str] | frozenset = frozenset(),
        named: dict[str, nn.Module] | None = None,
    ) -> None:
        super().__init__()
        self.input_names = input_names
        self.values = values
        self.inline = inline  # paths traced through without a scope (an unflattened program's)
        self.named = named or {}  # scope path -> the module whose class names the scope
        self.branches: list[str] = []  # conditions decided from the example's sizes
        self.scopes: list[ScopeCall] = []
        self.leaf_calls: Counter = Counter()
        self._stack: list[int] = []
        self._failed: tuple[str, str] | None = None

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        """torch's layers, designer's own (a built design's) and known foreign ones are called."""
        own = type(m) in OWN or foreign(type(m)) is not None
        return own or super().is_leaf_module(m, module_qualified_name)

    def create_args_for_root(self, root_fn, is_module, concrete_args=None):
        """One placeholder per example input, whatever ``forward`` declares (``*inputs`` too)."""
        placeholders = [self.create_proxy("placeholder", n, (), {}) for n in self.input_names]
        return root_fn, [self.root, *placeholders]

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return MetaProxy(node, self)

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, *rest):
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, *rest)
        self.values.add(proxy.node)
        return proxy

    def to_bool(self, obj: fx.Proxy) -> bool:
        """A condition on sizes or ranks is decided by the example (and noted); one on tensor
        values cannot be."""
        value = self.values.get(obj.node)
        if is_tensor(value) or value is UNKNOWN:
            return super().to_bool(obj)
        call = self.scopes[self._stack[-1]]
        place = where(call.path, call.cls)
        self.branches.append(f"{place}: a condition on sizes was {bool(value)} for the example")
        return bool(value)

    def iter(self, obj: fx.Proxy):
        """``h, w = x.shape[2:]``: a sequence of known length unpacks into its items."""
        value = self.values.get(obj.node)
        if isinstance(value, (tuple, list)):
            return iter([obj[i] for i in range(len(value))])
        return super().iter(obj)

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        node.meta[SCOPE] = self._stack[-1] if self._stack else 0
        return node

    def call_module(self, m, forward, args, kwargs):
        path = self.path_of_module(m)
        if self.is_leaf_module(m, path):
            self.leaf_calls[path] += 1
            return super().call_module(m, forward, args, kwargs)
        if is_container(m) or path in self.inline:
            return super().call_module(m, forward, args, kwargs)
        named = self.named.get(path, m)
        call = ScopeCall(len(self.scopes), path, named, self._stack[-1], len(self.graph.nodes))
        call.inputs = port_names(named, args, kwargs)
        call.listed = _listed(args, kwargs)
        self.scopes.append(call)
        self._stack.append(call.index)
        try:
            out = super().call_module(m, forward, args, kwargs)
        except Exception:
            self._failed = self._failed or (path, call.cls)
            raise
        finally:
            self._stack.pop()
        call.outputs = _graph_values(out)
        return out

    def trace_model(self, root: nn.Module) -> Trace:
        self.scopes = [ScopeCall(0, "", self.named.get("", root), None, 0)]
        self._stack = [0]
        try:
            graph = self.trace(root)
        except Exception as exc:
            path, cls = self._failed or ("", type(root).__name__)
            raise TraceFailed(path, cls, exc) from exc
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        self.scopes[0].inputs = list(zip(self.input_names, placeholders, strict=True))
        output = next(n for n in graph.nodes if n.op == "output")
        self.scopes[0].outputs = list(pytree.tree_leaves(output.args[0]))
        return Trace(graph, root, self.scopes, self.leaf_calls, self.values, self.branches)


def input_names(module: nn.Module, count: int) -> list[str]:
    """Names for the model's inputs: ``forward``'s positional parameters, else ``x``, ``x1``..."""
    params = list(inspect.signature(module.forward).parameters.values())
    named = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if len(named) >= count:
        return named[:count]
    return ["x"] if count == 1 else [f"x{i}" for i in range(1, count + 1)]


def trace(module: nn.Module, inputs: tuple, program: Unflattened | None = None) -> Trace:
    """Trace ``module`` called with ``inputs`` (their values are read for shapes only), or
    the unflattened exported ``program`` (its module is traced, read as it says)."""
    if program is not None:
        module = program.module
    values = MetaValues(module, inputs)
    if program is None:
        tracer = HierarchyTracer(input_names(module, len(inputs)), values)
    else:
        tracer = HierarchyTracer(program.input_names, values, program.inline, program.named)
    return tracer.trace_model(module)
