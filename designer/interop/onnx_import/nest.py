"""The flat blocks cut into one importer :class:`~designer.interop.importer.ir.Body` per module
call, so that the torch importer's definer makes composite blocks of them (one per class, the
constants that differ as parameters) and its assembler writes the design.

Each block has a path: its layer's (read off its weight's name, ``up1.up.weight`` -> ``up1.up``,
or the one node of a module), or, for a functional op, the module it ran in. Containers
(``nn.Sequential``, or a module whose children are all numbered and that runs nothing itself)
are no blocks: their members belong to the enclosing module, as in the torch importer. A module
whose nodes are not one contiguous piece of the graph (a module called twice) is not cut out.
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from designer.interop.importer.ir import Body, Namer, Op
from designer.interop.importer.scopes import snake
from designer.interop.onnx_import.classes import unify
from designer.interop.onnx_import.convert import Flat
from designer.interop.onnx_import.scopes import (
    class_name,
    is_container_class,
    is_layer_class,
    last,
    parent,
    place_of,
)

_OP_NAMES = {"Add": "add", "Multiply": "mul", "Concat": "cat", "PadToMatch": "pad"}


def _snake(block: str) -> str:
    """How a block's node is named in its module: ``cat``, ``pad``, ``max_pool2d``."""
    return _OP_NAMES.get(block, snake(block))


def _prefixes(path: str) -> list[str]:
    parts = path.split(".") if path else []
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _relative(path: str, scope: str) -> str:
    return path[len(scope) + 1 :] if scope and path.startswith(scope + ".") else path


class Nesting:
    """The module paths of the flat blocks, which of them are composites, and their bodies."""

    def __init__(self, flat: Flat, composites: bool = True) -> None:
        self.flat = flat
        self.ops = flat.ops
        self.position = {op.id: i for i, op in enumerate(self.ops)}
        places = [place_of(op.origin.proto) for op in self.ops]
        self.classes: dict[str, str] = {}
        for place in places:
            self.classes.update(place.classes)
        self.paths, self.layer = self._paths(places)
        pairs = zip(self.paths, self.layer, strict=True)
        self.owners = [parent(p) if lay else p for p, lay in pairs]
        self.composites = self._composites() if composites else set()
        self._bodies: dict[tuple[int, int], str] = {}
        self.consumers = self._consumers()
        self._drop_non_convex()

    # -- where every block belongs --------------------------------------------------------------

    def _paths(self, places) -> tuple[list[str], list[bool]]:
        pairs = zip(self.ops, places, strict=True)
        hints = [_hint(op.layer_hint, place.module) for op, place in pairs]
        nodes_at: dict[str, set[int]] = defaultdict(set)
        for op, place, hint in zip(self.ops, places, hints, strict=True):
            if hint is None:
                nodes_at[place.module].add(op.origin.index)
        raw = [hint or place.module for hint, place in zip(hints, places, strict=True)]
        above = {p for path in raw for p in _prefixes(path)[:-1]}
        layer = []
        for op, path, hint in zip(self.ops, raw, hints, strict=True):
            cls = self.classes.get(path)
            alone = len(nodes_at[path]) == 1 and path not in above and not cls
            named = bool(path) and (is_layer_class(cls) or alone)
            layer.append(hint is not None or named or bool(op.weights and path))
        return raw, self._own_calls(raw, layer)

    def _own_calls(self, raw: list[str], layer: list[bool]) -> list[bool]:
        """A weighted op whose module also runs ops of its own (LayerNorm2d: a LayerNorm between
        two permutes) is one of that module's ops, not the module itself."""
        runs = {path for path, lay in zip(raw, layer, strict=True) if not lay}
        return [
            lay and not (path in runs and not is_layer_class(self.classes.get(path)))
            for path, lay in zip(raw, layer, strict=True)
        ]

    def _composites(self) -> set[str]:
        candidates = {p for owner in self.owners for p in _prefixes(owner)}
        runs = {o for o, lay in zip(self.owners, self.layer, strict=True) if not lay}
        children: dict[str, set[str]] = defaultdict(set)
        for path in candidates | set(self.paths):
            children[parent(path)].add(last(path))
        found = set()
        for path in candidates:
            cls = self.classes.get(path)
            numbered = all(c.isdigit() for c in children[path])
            if is_container_class(cls) or (not cls and path not in runs and numbered):
                continue
            found.add(path)
        return found

    def body_of(self, i: int) -> str:
        """The innermost composite the block belongs to ("" for the model)."""
        key = (i, len(self.composites))
        if key not in self._bodies:
            chain = reversed(_prefixes(self.owners[i]))
            self._bodies[key] = next((p for p in chain if p in self.composites), "")
        return self._bodies[key]

    def enclosing(self, path: str) -> str:
        return next((p for p in reversed(_prefixes(path)[:-1]) if p in self.composites), "")

    def inside(self, path: str) -> set[int]:
        if not path:
            return set(range(len(self.ops)))
        return {i for i in range(len(self.ops)) if (self.body_of(i) + ".").startswith(path + ".")}

    def _consumers(self) -> dict[int, set[int]]:
        consumers: dict[int, set[int]] = defaultdict(set)
        for i, op in enumerate(self.ops):
            for tensor in op.inputs:
                if tensor.ref[0] in self.position:
                    consumers[self.position[tensor.ref[0]]].add(i)
        return consumers

    def _convex(self, members: set[int]) -> bool:
        """No path leaves the module's blocks and comes back into them."""
        stack = [c for i in members for c in self.consumers[i] if c not in members]
        seen: set[int] = set()
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            for c in self.consumers[i]:
                if c in members:
                    return False
                stack.append(c)
        return True

    def _drop_non_convex(self) -> None:
        self.dropped = sorted(p for p in self.composites if not self._convex(self.inside(p)))
        self.composites -= set(self.dropped)
        self._bodies.clear()

    # -- bodies ---------------------------------------------------------------------------------

    def root(self, input_names: list[str], output_names: list[str]) -> Body:
        self._types: dict[str, type] = {}
        self._made_up: set[type] = set()
        root = self._body("", input_names, output_names)[0]
        for (port, _), (_, tensor) in zip(root.inputs, self.flat.inputs, strict=True):
            if tensor.dtype != "float32":
                root.dtypes[port] = tensor.dtype
        unify(root, self._made_up, {p: self._wrapped(p) for p in self.composites})
        return root

    def _class(self, path: str) -> type:
        name = class_name(path, self.classes)
        if name not in self._types:
            doc = f"Imported from the ONNX module scope {path}."
            self._types[name] = type(name, (), {"__doc__": doc, "__module__": "onnx"})
            if path not in self.classes:
                self._made_up.add(self._types[name])
        return self._types[name]

    def _wrapped(self, path: str) -> str | None:
        """The one container all of the module's members sit in (``double_conv``), if any."""
        firsts = {_relative(self.paths[i], path).split(".")[0] for i in self.inside(path)}
        if len(firsts) != 1:
            return None
        (first,) = firsts
        inner = f"{path}.{first}"
        is_layer = any(p == inner and lay for p, lay in zip(self.paths, self.layer, strict=True))
        return None if is_layer or first.isdigit() else first

    def _boundary(self, path: str, members: set[int]) -> tuple[list, list]:
        """Values the module reads from outside, and values it makes that are read outside."""
        if not path:
            return [t for _, t in self.flat.inputs], [t for _, t in self.flat.outputs]
        reads: dict[tuple, object] = {}
        for i in sorted(members):
            for tensor in self.ops[i].inputs:
                if self.position.get(tensor.ref[0]) not in members:
                    reads.setdefault(tensor.ref, tensor)
        leaving = {t.ref for _, t in self.flat.outputs}
        for i, op in enumerate(self.ops):
            if i not in members:
                leaving.update(t.ref for t in op.inputs)
        made = [
            (self.ops[i].id, "out") for i in sorted(members) if (self.ops[i].id, "out") in leaving
        ]
        shapes = {t.ref: t for op in self.ops for t in op.inputs}
        shapes.update({t.ref: t for _, t in self.flat.outputs})
        return list(reads.values()), [shapes[ref] for ref in made]

    def _body(self, path: str, input_names=None, output_names=None) -> tuple[Body, list, list]:
        """The module's body, the values it reads and the values it makes (port order)."""
        members = self.inside(path)
        reads, makes = self._boundary(path, members)
        namer = Namer()
        in_ports = _ports(namer, input_names, len(reads), "x")
        out_ports = _ports(namer, output_names, len(makes), "y")
        body = Body(path, self._class(path) if path else type("Model", (), {}), [])
        body.inputs = [(p, t.shape) for p, t in zip(in_ports, reads, strict=True)]
        refs = {t.ref: (p, "out") for p, t in zip(in_ports, reads, strict=True)}
        for unit in self._units(path, members):
            body.ops.append(self._op(unit, path, namer, refs))
        body.outputs = [(p, refs[t.ref]) for p, t in zip(out_ports, makes, strict=True)]
        return body, reads, makes

    def _units(self, path: str, members: set[int]) -> list:
        """The module's own blocks and its child modules, in an order the wires allow."""
        unit_of: dict[int, object] = {}
        for i in members:
            owner = self.body_of(i)
            unit_of[i] = i if owner == path else self._child_of(path, owner)
        graph = nx.DiGraph()
        first: dict[object, int] = {}
        for i in sorted(members):
            first.setdefault(unit_of[i], i)
            graph.add_node(unit_of[i])
            for tensor in self.ops[i].inputs:
                j = self.position.get(tensor.ref[0])
                if j in unit_of and unit_of[j] != unit_of[i]:
                    graph.add_edge(unit_of[j], unit_of[i])
        return list(nx.lexicographical_topological_sort(graph, key=first.__getitem__))

    def _child_of(self, path: str, owner: str) -> str:
        chain = _prefixes(owner)
        return next(p for p in chain if p in self.composites and self.enclosing(p) == path)

    def _op(self, unit, path: str, namer: Namer, refs: dict) -> Op:
        if isinstance(unit, str):
            child, reads, makes = self._body(unit)
            op_id = namer.take(_relative(unit, path), "block")
            inputs = [refs[t.ref] for t in reads]
            for (port, _), tensor in zip(child.outputs, makes, strict=True):
                refs[tensor.ref] = (op_id, port)
            return Op(op_id, "", {}, inputs, child.cls.__name__, child=child)
        made = self.ops[unit]
        op_id = namer.take(self._local(unit, path), _snake(made.block))
        refs[(made.id, "out")] = (op_id, "out")
        inputs = [refs[t.ref] for t in made.inputs]
        layer = made.id if made.weights else None
        return Op(op_id, made.block, dict(made.params), inputs, made.origin.op_type, layer)

    def _local(self, i: int, path: str) -> str:
        if self.layer[i]:
            return _relative(self.paths[i], path).replace(".", "_")
        own = _snake(self.ops[i].block)
        owner = _relative(self.owners[i], path) if self.owners[i] != path else ""
        return f"{owner.replace('.', '_')}_{own}" if owner else own


def _hint(hint: str | None, module: str) -> str | None:
    """The layer path read off a weight's name, unless the node ran in another module: an
    exporter that merges equal initializers (fresh LayerNorms' ones and zeros) names one module's
    weight in all of them."""
    if hint is None or not module:
        return hint
    related = (hint + ".").startswith(module + ".") or (module + ".").startswith(hint + ".")
    return hint if related else None


def _ports(namer: Namer, names: list[str] | None, count: int, stem: str) -> list[str]:
    if names is not None:
        return [namer.take(n, stem) for n in names]
    if count == 1:
        return [namer.take(stem)]
    return [namer.take(f"{stem}{i}") for i in range(1, count + 1)]


def nest(flat: Flat, composites: bool = True) -> tuple[Body, list[str]]:
    """The model's body (composites nested in its ops) and the scopes left flat (not convex)."""
    nesting = Nesting(flat, composites)
    inputs = [name for name, _ in flat.inputs]
    outputs = [name for name, _ in flat.outputs]
    return nesting.root(inputs, outputs), nesting.dropped
