"""Classify every traced node: a block (layer or functional op), an alias, a folded value, or
opaque. Numbers an op reads are folded from the example run; a number that comes from a tensor's
size is noted, since it then holds for the example's size only."""

from __future__ import annotations

from typing import Any

from torch import fx

from designer.interop.importer.calls import bind_layer
from designer.interop.importer.devices import moved_tensor, read_for_device
from designer.interop.importer.functions import map_function
from designer.interop.importer.mapped import Alias, Block, Fold, Mapped, Opaque, clean_params, where
from designer.interop.importer.modules import Unsupported, layer_name, map_layer
from designer.interop.importer.ownlayers import bind_own, map_own
from designer.interop.importer.tensorops import pick
from designer.interop.importer.tracer import Trace
from designer.interop.importer.values import UNKNOWN, holds_tensors, is_tensor, shape_of
from designer.interop.importer.vision import held_only
from designer.interop.importer.wrapped import wrap_function, wrap_layer

_SYMBOLS = {
    "add": "+",
    "iadd": "+=",
    "sub": "-",
    "mul": "*",
    "imul": "*=",
    "truediv": "/",
    "floordiv": "//",
    "matmul": "@",
    "getitem": "[...]",
    "neg": "unary -",
    "pow": "**",
}


def describe(node: fx.Node) -> str:
    """How the source spells the op: ``torch.sin``, ``F.pad``, ``Tensor.permute``, ``*``."""
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    if node.op == "get_attr":
        return f"self.{node.target}"
    target = node.target
    name = getattr(target, "__name__", str(target))
    module = getattr(target, "__module__", None) or ""
    if module in ("_operator", "operator"):
        return f"`{_SYMBOLS.get(name, name)}` (operator.{name})"
    if module.startswith(("torch.nn.functional", "torch._C._nn")):
        return f"F.{name}"
    if module == "torch" or module.startswith("torch."):  # not torchvision's
        return f"torch.{name}"
    return f"{module}.{name}" if module else name


class Context:
    """What the rules read about a node's arguments: example values, shapes, folded numbers."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.values = trace.values
        self.order = {node: i for i, node in enumerate(trace.graph.nodes)}
        self.notes: list[str] = []
        self.kept: list[Opaque] = []  # ops kept as TorchModule / TorchFunction calls
        self._where = ""

    def is_tensor(self, arg: Any) -> bool:
        return isinstance(arg, fx.Node) and is_tensor(self.values.get(arg))

    def shape(self, arg: Any) -> tuple | None:
        return shape_of(self.values.get(arg)) if isinstance(arg, fx.Node) else None

    def tensors(self, args, count: int | None = None) -> list[fx.Node]:
        """``args`` checked to be tensors computed in the graph."""
        args = list(args)
        if count is not None and len(args) != count:
            raise Unsupported(f"expected {count} tensor arguments, got {len(args)}")
        for arg in args:
            if not self.is_tensor(arg):
                raise Unsupported(f"takes {_short(arg)} where a computed tensor is expected")
        return args

    def const(self, arg: Any, name: str) -> Any:
        """A Python value for a parameter: constants as they are, nodes from the example run."""
        if isinstance(arg, (list, tuple)):
            return type(arg)(self.const(a, name) for a in arg)
        if not isinstance(arg, fx.Node):
            return arg
        value = self.values.get(arg, UNKNOWN)
        if value is UNKNOWN or is_tensor(value):
            raise Unsupported(f"{name} is computed from tensors at run time")
        if self.reads_sizes(arg):
            self.notes.append(
                f"{self._where}: {name} = {value!r} is read from a tensor's size; it holds for "
                "inputs of the example's size"
            )
        return value

    def reads_sizes(self, arg: Any) -> bool:
        """Whether a Python value is computed from some tensor (its size, rank...)."""
        stack: list[fx.Node] = []
        fx.node.map_arg(arg, stack.append)
        seen: set[fx.Node] = set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if is_tensor(self.values.get(node)):
                return True
            stack += node.all_input_nodes
        return False

    def classify(self, node: fx.Node, path: str, cls: str) -> Mapped:
        """What ``node`` becomes; ``path`` and ``cls`` name its scope for records and notes."""
        self._where = where(path, cls)
        if node.op == "call_module":
            return self._layer(node)
        try:
            if node.op == "get_attr":
                placed = read_for_device(node, self.values)  # x.to(w.device) (devices.py)
                return Fold() if held_only(node) or placed else self._parameter(node)
            value = self.values.get(node, UNKNOWN)
            if moved_tensor(node, self.values) is not None:  # a device move: a wire (devices.py)
                return Alias(node.args[0])
            picked = pick(node, self)
            if picked is not None:
                return picked
            if value is not UNKNOWN and not is_tensor(value) and not holds_tensors(value):
                return Fold()
            mapped = map_function(node, self)
            if mapped is None:
                raise Unsupported(f"no block for {describe(node)}")
            if isinstance(mapped, Block):
                mapped.params = clean_params(mapped.block, mapped.params)
            return mapped
        except Unsupported as exc:
            return self._kept(wrap_function(node, self, path, cls)) or Opaque(
                path, describe(node), str(exc), cls
            )

    def _parameter(self, node: fx.Node) -> Block:
        """A tensor the module holds, read directly (``x + self.pos``, ``F.linear(x, w)``): a
        Parameter node holding it."""
        value = self.values.get(node, UNKNOWN)
        if not is_tensor(value) or not value.is_floating_point() or value.dim() == 0:
            raise Unsupported("reads a tensor directly that is no floating-point array")
        params = clean_params("Parameter", {"shape": tuple(value.shape)})
        owner = node.target.rpartition(".")[0]
        if owner and self.trace.leaf_calls[owner]:
            self.notes.append(
                f"{self._where}: {node.target} is also `{owner}`'s weight; the design holds a copy "
                "in a Parameter node, so the two are no longer tied when trained"
            )
        return Block("Parameter", params, [], tensors={"weight": node.target})

    def _kept(self, wrapped) -> Block | None:
        """The wrapper block of an op kept as a call, recorded; None when there is none."""
        if wrapped is None:
            return None
        block, record = wrapped
        self.kept.append(record)
        return block

    def _layer(self, node: fx.Node) -> Mapped:
        path = node.target
        module = self.values.modules[path]
        try:
            if self.trace.leaf_calls[path] > 1 and _has_state(module):
                raise Unsupported(
                    f"it runs {self.trace.leaf_calls[path]} times; a design cannot share "
                    "weights between nodes"
                )
            block, raw = map_own(module) or map_layer(module)
            call = bind_own(type(module), node, self) or bind_layer(module, node, self)
            params = clean_params(block, raw)
            return Block(
                block,
                params,
                call.inputs,
                layer=path,
                ports=call.ports,
                outputs=call.outputs,
                missing=call.missing,
            )
        except Unsupported as exc:
            if node.kwargs or (self.trace.leaf_calls[path] > 1 and _has_state(module)):
                return Opaque(path, layer_name(module), str(exc))
            inputs = [a for a in node.args if self.is_tensor(a)]
            wrapped = (
                wrap_layer(module, inputs, path) if len(inputs) == len(node.args) == 1 else None
            )
            return self._kept(wrapped) or Opaque(path, layer_name(module), str(exc))


def _has_state(module) -> bool:
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


def _short(arg: Any) -> str:
    if isinstance(arg, fx.Node):
        return f"the value of {describe(arg)}"
    text = repr(arg)
    return text if len(text) <= 30 else text[:27] + "..."
