"""Convert the graph node by node, in the file's (topological) order, into a flat list of blocks.

Each node's inputs are looked up as converted values; then it is folded (all inputs constant),
measured (``Shape`` of a tensor), or handed to the converter the registry has for its op type and
opset. What cannot be converted is recorded (node name, op type, opset, reason) and the import
goes on, so that one failure lists every node at fault; consumers of a failed node stay quiet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from onnx import GraphProto

from designer.interop.importer.mapped import Opaque
from designer.interop.onnx_import.context import Context, Made, Node, Unsupported
from designer.interop.onnx_import.fold import fold, foldable, shape_of
from designer.interop.onnx_import.reader import BadFile, GraphInput
from designer.interop.onnx_import.regions import Region, convert_region, find_regions
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
        readers = Counter(name for node in graph.node for name in set(node.input))
        self.ctx = Context(batch, frozenset(n for n, count in readers.items() if count > 1))
        self.env: dict[str, Value] = {}
        self.opaque: list[Opaque] = []
        self._reported: set[str] = set()
        self._initializers: set[str] = set()
        self._read: set[str] = set()
        self.inputs = []
        for i, graph_input in enumerate(inputs):
            shape = (None, *graph_input.shape[1:])
            tensor = Tensor((f"input{i}", "out"), shape, graph_input.dtype)
            self.env[graph_input.name] = tensor
            self.inputs.append((graph_input.name, tensor))

    def add_constants(self, constants: dict[str, Const]) -> None:
        for name, value in constants.items():
            if name not in self.env:
                self.env[name] = value
                self._initializers.add(name)

    def run(self) -> Flat:
        regions = find_regions(self.graph, self._initializers, self.opset)
        ends = {region.last: region for region in regions}
        inside = {i for region in regions for i in region.indices}
        for index, proto in enumerate(self.graph.node):
            if index in ends:
                self._visit_region(ends[index])
            elif index not in inside:
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

    def _visit_region(self, region: Region) -> None:
        """A layer spelled in many nodes (a module scope), converted as one block."""
        fake = type(region.nodes[0])(input=region.reads, name=region.node().name)
        region.values = dict(zip(region.reads, self._inputs(fake), strict=True))
        region.batch = self.ctx.batch
        broken = next((v for v in region.values.values() if isinstance(v, Broken)), None)
        if broken is not None:
            self.env.update({name: broken for name in region.makes})
            return
        try:
            self.env.update(convert_region(region, self.ctx))
        except Unsupported as exc:
            self._node_by_node(region, exc)

    def _node_by_node(self, region: Region, refusal: Unsupported) -> None:
        """The region's nodes one by one; when some fail, the region's refusal says why."""
        before = len(self.opaque)
        for index, proto in zip(region.indices, region.nodes, strict=True):
            self._visit(Node(proto, self.opset, self._inputs(proto), index))
        if len(self.opaque) > before:
            del self.opaque[before:]
            self._report(refusal.node or region.node(), str(refusal))
            self.env.update({name: Broken(region.node().name) for name in region.makes})

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
