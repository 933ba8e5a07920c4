"""Layers the exporter spelled out in many nodes, converted as one block per module scope.

torch's exporter writes a ``MultiheadAttention`` as three dozen ``MatMul``/``Reshape``/``Softmax``
nodes whose sizes bake in the example batch, and an ``LSTM`` as weight reordering around ONNX
``LSTM`` nodes in time-major layout. Node by node, no block expresses those pieces; as a whole,
the module is one block. A module scope (``blocks.0.attn``) is such a layer when its weights'
names (``blocks.0.attn.in_proj_bias``) or its recorded class say so; its nodes form a
:class:`Region`, converted when its last node is reached by the converter that
:func:`layer_region` registered for that kind of layer. The block's parameters come from the
region's nodes and are checked by running the region (onnxruntime) against the torch layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime as ort
from onnx import GraphProto, NodeProto, helper, numpy_helper

from designer.interop.onnx_import.context import Context, Node, Unsupported
from designer.interop.onnx_import.fold import fold, foldable, sizes
from designer.interop.onnx_import.scopes import place_of
from designer.interop.onnx_import.values import Const, Tensor, Value

_ONNX_TYPES = {"float32": onnx.TensorProto.FLOAT, "int64": onnx.TensorProto.INT64}
TOLERANCE = 1e-4


@dataclass
class Kind:
    """A torch layer recognised by the names of its weights (``suffixes`` after the module path)
    or by its class's qualified name."""

    name: str
    suffixes: tuple[str, ...]
    classes: tuple[str, ...]
    ops: tuple[str, ...]  # ONNX op types that, run directly in a scope, make it this layer
    convert: Callable  # (region, ctx) -> {output name: value}


_KINDS: list[Kind] = []


def layer_region(name: str, suffixes: tuple, classes: tuple, ops: tuple = ()):
    """Register the decorated ``convert(region, ctx)`` for module scopes of this layer kind."""

    def register(convert: Callable) -> Callable:
        _KINDS.append(Kind(name, suffixes, classes, ops, convert))
        return convert

    return register


@dataclass
class Region:
    """The nodes of one module scope, the values they read and the ones read outside."""

    path: str
    kind: Kind
    indices: list[int]
    nodes: list[NodeProto]
    reads: list[str]
    makes: list[str]
    opset: int
    values: dict[str, Value] = field(default_factory=dict)  # reads, once converted
    folded: dict[str, Const] = field(default_factory=dict)  # its own values computed from consts
    batch: int = 1
    varying: set[str] = field(default_factory=set)  # its values that depend on the input
    _fed_by_inputs: set[str] | None = field(default=None, repr=False)

    @property
    def last(self) -> int:
        return self.indices[-1]

    def node(self, index: int = -1) -> Node:
        """A node of the region (its last by default), as messages name it."""
        return Node(self.nodes[index], self.opset, [], self.indices[index])

    def of_type(self, op_type: str) -> list[NodeProto]:
        return [n for n in self.nodes if n.op_type == op_type]

    def tensors(self) -> list[tuple[str, Tensor]]:
        """The computed values it reads (its inputs), in the order first read."""
        return [(n, v) for n, v in self.values.items() if isinstance(v, Tensor)]

    def const(self, name: str) -> np.ndarray | None:
        """A constant it reads or computes from constants (reordered weights) or from sizes
        only (zero initial states), else None."""
        value = self.folded.get(name, self.values.get(name))
        unknown = value is None and name not in self.varying and name not in self._fed()
        if unknown and any(name in n.output for n in self.nodes):
            value = self._probe(name)
        return value.array if isinstance(value, Const) else None

    def _fed(self) -> set[str]:
        """Its values computed from its tensor inputs (other than through their sizes): not
        constants, so not worth probing (each probe runs the region twice)."""
        if self._fed_by_inputs is None:
            fed = {name for name, _ in self.tensors()}
            for proto in self.nodes:
                if proto.op_type not in ("Shape", "Size") and fed.intersection(proto.input):
                    fed.update(proto.output)
            self._fed_by_inputs = fed
        return self._fed_by_inputs

    def sample(self, seed: int) -> dict[str, np.ndarray]:
        """Random values for its tensor inputs, at the example sizes."""
        rng = np.random.default_rng(seed)
        return {
            name: rng.normal(size=sizes(t, self.batch)).astype(np.float32)
            if t.dtype == "float32"
            else np.zeros(sizes(t, self.batch), dtype=t.dtype)
            for name, t in self.tensors()
        }

    def _probe(self, name: str) -> Const | None:
        """The value computed from two random inputs: a constant when both agree."""
        first, second = (run_region(self, self.sample(s), [name])[0] for s in (1, 2))
        if first.shape != second.shape or not np.array_equal(first, second):
            self.varying.add(name)
            return None
        self.folded[name] = Const(first)
        return self.folded[name]

    def fold(self) -> None:
        """Compute every node of the region whose inputs are all constants."""
        for index, proto in zip(self.indices, self.nodes, strict=True):
            known = [self.folded.get(n, self.values.get(n)) for n in proto.input]
            if any(n and not isinstance(v, Const) for n, v in zip(proto.input, known, strict=True)):
                continue
            node = Node(proto, self.opset, known, index)
            if not foldable(node):
                continue
            try:
                results = fold(node)
            except Unsupported:
                continue
            self.folded.update(zip(proto.output, results, strict=False))

    def refuse(self, reason: str) -> Unsupported:
        return Unsupported(f"module {self.path} ({self.kind.name}): {reason}", self.node())


def _kind_of(path: str, names: set[str], classes: dict[str, str], ops: set[str]) -> Kind | None:
    """The kind its recorded class names first (the surest sign), else its weights or ops."""
    cls = classes.get(path, "").rsplit(".", 1)[-1]
    for kind in _KINDS:
        if cls in kind.classes:
            return kind
    for kind in _KINDS:
        if any(f"{path}.{suffix}" in names for suffix in kind.suffixes) or ops & set(kind.ops):
            return kind
    return None


def _inside(module: str, path: str) -> bool:
    return module == path or module.startswith(path + ".")


def find_regions(graph: GraphProto, initializers: set[str], opset: int) -> list[Region]:
    """The module scopes that are a recognised layer and one contiguous-enough piece: nothing
    outside reads their values before their last node."""
    places = [place_of(node) for node in graph.node]
    classes: dict[str, str] = {}
    for place in places:
        classes.update(place.classes)
    paths = sorted({p for place in places for p in _prefixes(place.module)}, key=len)
    ops: dict[str, set[str]] = {}
    for place, node in zip(places, graph.node, strict=True):
        ops.setdefault(place.module, set()).add(node.op_type)
    regions, taken = [], set()
    for path in paths:
        kind = _kind_of(path, initializers, classes, ops.get(path, set()))
        if kind is None or any(_inside(path, t) for t in taken):
            continue
        indices = [i for i, place in enumerate(places) if _inside(place.module, path)]
        region = _region(graph, path, kind, indices, opset)
        if region is not None:
            regions.append(region)
            taken.add(path)
    return regions


def _prefixes(path: str) -> list[str]:
    parts = path.split(".") if path else []
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _between(graph, indices: list[int]) -> list[int]:
    """``indices`` and the nodes on a path from one of them to another (size arithmetic of the
    exporter's left outside the scope): a piece of the graph that nothing enters midway."""
    first, last = indices[0], indices[-1]
    span = range(first, last + 1)
    after = set(indices)  # what the region's nodes feed, directly or not
    made = {out for i in indices for out in graph.node[i].output}
    for j in span:
        if j not in after and made.intersection(graph.node[j].input):
            after.add(j)
            made.update(graph.node[j].output)
    before = set(indices)  # what feeds the region's nodes
    read = {name for i in indices for name in graph.node[i].input}
    for j in reversed(span):
        if j not in before and read.intersection(graph.node[j].output):
            before.add(j)
            read.update(graph.node[j].input)
    return sorted(set(indices) | (after & before))


def _region(graph, path: str, kind: Kind, indices: list[int], opset: int) -> Region | None:
    indices = _between(graph, indices)
    members = set(indices)
    made = {out for i in indices for out in graph.node[i].output if out}
    reads: dict[str, None] = {}
    for i in indices:
        reads.update((name, None) for name in graph.node[i].input if name and name not in made)
    outside: dict[str, int] = {}
    for j, node in enumerate(graph.node):
        if j not in members:
            for name in node.input:
                if name in made:
                    outside.setdefault(name, j)
    if any(j < indices[-1] for j in outside.values()):
        return None  # something outside reads the layer's values before the layer ends
    makes = list(dict.fromkeys([*outside, *(o.name for o in graph.output if o.name in made)]))
    nodes = [graph.node[i] for i in indices]
    return Region(path, kind, indices, nodes, list(reads), makes, opset)


def run_region(region: Region, feeds: dict, names: list[str] | None = None) -> list[np.ndarray]:
    """The region's outputs (or the values ``names``) for ``feeds`` (its tensor inputs),
    computed by onnxruntime."""
    inputs, initializers = [], []
    for name, value in region.values.items():
        if isinstance(value, Const):
            initializers.append(numpy_helper.from_array(np.asarray(value.array), name))
        else:
            kind = _ONNX_TYPES.get(value.dtype, onnx.TensorProto.FLOAT)
            shape = [int(d) for d in sizes(value, region.batch)]
            inputs.append(helper.make_tensor_value_info(name, kind, shape))
    outputs = [helper.make_empty_tensor_value_info(n) for n in names or region.makes]
    graph = helper.make_graph(region.nodes, "region", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", region.opset)])
    model.ir_version = min(model.ir_version, 10)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)


def close(got: np.ndarray, want: np.ndarray) -> bool:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return False
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    return float(np.abs(got - want).max(initial=0.0)) <= TOLERANCE * scale


def one_input(region: Region) -> tuple[str, Tensor]:
    """The one tensor a layer reads (self-attention, a recurrent layer without initial state)."""
    tensors = region.tensors()
    if len(tensors) != 1:
        raise region.refuse(
            f"it reads {len(tensors)} computed tensors (another key or value, initial states); "
            "a layer over its one input converts"
        )
    return tensors[0]


def one_output(region: Region, skip: set[str] = frozenset()) -> str:
    """The one value read outside (``skip``: others the converter gives itself)."""
    makes = [name for name in region.makes if name not in skip]
    if len(makes) != 1:
        raise region.refuse(f"{len(makes)} of its values are read outside; one converts")
    return makes[0]


def convert_region(region: Region, ctx: Context) -> dict[str, Value]:
    """The region's outputs by name, from its kind's converter."""
    region.fold()
    return region.kind.convert(region, ctx)
