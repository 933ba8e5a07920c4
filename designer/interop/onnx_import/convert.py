"""Convert the graph node by node, in the file's (topological) order, into a flat list of blocks.

Each node's inputs are looked up as converted values; then it is folded (all inputs constant),
measured (``Shape`` of a tensor), or handed to the converter the registry has for its op type and
opset. What cannot be converted is recorded (node name, op type, opset, reason) and the import
goes on, so that one failure lists every node at fault; consumers of a failed node stay quiet.
"""

from __future__ import annotations

from dataclasses import dataclass

from onnx import GraphProto

from designer.interop.importer.mapped import Opaque
from designer.interop.onnx_import.context import Context, Made, Node, Unsupported
from designer.interop.onnx_import.fold import fold, foldable, shape_of
from designer.interop.onnx_import.reader import BadFile, GraphInput
from designer.interop.onnx_import.registry import find, known_opsets
from designer.interop.onnx_import.values import (
    Broken,
    Const,
    Deferred,
    Tensor,
    Unavailable,
    Value,
)


@dataclass
class Flat:
    """The converted graph: blocks in data-flow order, the inputs and outputs by ONNX name."""

    ops: list[Made]
    inputs: list[tuple[str, Tensor]]
    outputs: list[tuple[str, Tensor]]
    opaque: list[Opaque]
    unused: list[str]  # initializers no node reads


class GraphConverter:
    def __init__(self, graph: GraphProto, opset: int, inputs: list[GraphInput], batch: int):
        self.graph = graph
        self.opset = opset
        self.ctx = Context(batch)
        self.env: dict[str, Value] = {}
        self.opaque: list[Opaque] = []
        self._reported: set[str] = set()
        self._initializers: set[str] = set()
        self._read: set[str] = set()
        self.inputs = []
        for i, graph_input in enumerate(inputs):
            tensor = Tensor((f"input{i}", "out"), (None, *graph_input.shape[1:]))
            self.env[graph_input.name] = tensor
            self.inputs.append((graph_input.name, tensor))

    def add_constants(self, constants: dict[str, Const]) -> None:
        for name, value in constants.items():
            if name not in self.env:
                self.env[name] = value
                self._initializers.add(name)

    def run(self) -> Flat:
        for index, proto in enumerate(self.graph.node):
            self._visit(Node(proto, self.opset, self._inputs(proto), index))
        outputs = [(out.name, self._output(out.name)) for out in self.graph.output]
        return Flat(
            self.ctx.ops,
            self.inputs,
            [(n, t) for n, t in outputs if t is not None],
            self.opaque,
            sorted(self._initializers - self._read),
        )

    def _inputs(self, proto) -> list[Value | None]:
        values: list[Value | None] = []
        for name in proto.input:
            if not name:
                values.append(None)
            elif name in self.env:
                values.append(self.env[name])
                self._read.add(name)
            else:
                raise BadFile(
                    f"node `{proto.name or proto.op_type}` reads {name!r}, which no initializer, "
                    "input or earlier node makes (the graph is not in topological order)"
                )
        return values

    def _visit(self, node: Node) -> None:
        broken = self._broken_input(node)
        if broken is not None:
            if find(node.proto.domain, node.op_type, node.opset) is None:
                self._report(node, self._no_converter(node))  # listed even behind a failure
            self._set_outputs(node, [Broken(broken)] * len(node.proto.output))
            return
        try:
            outputs = self._convert(node)
        except Unsupported as exc:
            self._report(exc.node or node, str(exc))
            outputs = [Broken(node.name)] * len(node.proto.output)
        self._set_outputs(node, outputs)

    def _convert(self, node: Node) -> list[Value]:
        if foldable(node):
            return list(fold(node))
        if node.op_type in ("Shape", "Size") and node.proto.domain in ("", "ai.onnx"):
            return [shape_of(node, self.ctx.tensor(node.inputs[0]), self.ctx.batch)]
        entry = find(node.proto.domain, node.op_type, node.opset)
        if entry is None:
            raise Unsupported(self._no_converter(node))
        result = entry.convert(node, self.ctx)
        return list(result) if isinstance(result, (list, tuple)) else [result]

    def _no_converter(self, node: Node) -> str:
        domain = node.proto.domain
        if domain not in ("", "ai.onnx"):
            return f"custom op of domain {domain!r}: no block expresses it"
        ranges = known_opsets(domain, node.op_type)
        if ranges:
            return f"converted for opsets {', '.join(ranges)} only"
        return "no block expresses this op"

    def _broken_input(self, node: Node) -> str | None:
        for value in node.inputs:
            if isinstance(value, Broken):
                return value.node
            if isinstance(value, Unavailable):
                self._report(
                    value.node,
                    f"its output {value.index + 1} is used (by `{node.name}`); "
                    "only the first output converts",
                )
                return value.node.name
        return None

    def _set_outputs(self, node: Node, values: list[Value]) -> None:
        for i, name in enumerate(node.proto.output):
            if name:
                self.env[name] = values[i] if i < len(values) else Unavailable(node, i)

    def _output(self, name: str) -> Tensor | None:
        value = self.env.get(name)
        if value is None:
            raise BadFile(f"the graph output {name!r} is made by no node")
        if isinstance(value, (Broken, Unavailable)):
            if isinstance(value, Unavailable):
                self._report(value.node, f"its output {value.index + 1} is a graph output")
            return None
        if isinstance(value, Const):
            self.opaque.append(Opaque(name, "graph output", "it is a constant; no block makes one"))
            return None
        try:
            return self.ctx.tensor(value) if isinstance(value, Deferred) else value
        except Unsupported as exc:
            self._report(exc.node or value.origin, str(exc))
            return None

    def _report(self, node: Node, reason: str) -> None:
        key = f"{node.name}\0{reason}"
        if key not in self._reported:
            self._reported.add(key)
            self.opaque.append(Opaque(node.name, f"{node.op_type} (opset {node.opset})", reason))
