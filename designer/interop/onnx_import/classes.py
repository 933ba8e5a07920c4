"""One class for modules that are alike, when the file names no classes.

A file written by ``designer export`` or torch's TorchScript exporter records module paths only,
so a composite's class is made up from its attribute name (``down3`` -> ``Down``). Modules of
different names may still be the same thing: the U-Net's ``inc``, ``down1.pool_conv.1`` and
``up1.conv`` are all DoubleConv. Classes whose instances all have the structure of another
class's instances (the same nodes, blocks, parameter names and wiring; constants may differ) merge
into one, named after what their instances agree on: the one name they share, else the container
each wraps (``double_conv`` -> ``DoubleConv``), else the most common name.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from designer.interop.importer.ir import Body
from designer.interop.onnx_import.scopes import class_name


def skeleton(body: Body) -> tuple:
    """What instances of one block share: ports, node ids, blocks, parameter names, wiring."""
    ops = tuple(
        (op.id, op.child.cls if op.child else op.block, tuple(sorted(op.params)), *op.inputs)
        for op in body.ops
    )
    return tuple(p for p, _ in body.inputs), ops, tuple(body.outputs)


def _merged_name(bodies: list[Body], wrapped: dict[str, str | None]) -> str:
    names = [b.cls.__name__ for b in bodies]
    if len(set(names)) == 1:
        return names[0]
    containers = {wrapped.get(b.path) for b in bodies}
    if len(containers) == 1 and None not in containers:
        return class_name(containers.pop(), {})
    return Counter(names).most_common(1)[0][0]


def unify(root: Body, made_up: set[type], wrapped: dict[str, str | None]) -> None:
    """Give alike modules of made-up classes one class (repeated until nothing merges, as a
    merge inside makes the modules around alike)."""
    made_up = set(made_up)
    while True:
        by_class: dict[type, list[Body]] = defaultdict(list)
        for body in root.walk():
            if body is not root and body.cls in made_up:
                by_class[body.cls].append(body)
        alike: dict[frozenset, list[type]] = defaultdict(list)
        for cls, bodies in by_class.items():
            alike[frozenset(skeleton(b) for b in bodies)].append(cls)
        groups = [classes for classes in alike.values() if len(classes) > 1]
        if not groups:
            return
        for classes in groups:
            bodies = [b for cls in classes for b in by_class[cls]]
            name = _merged_name(bodies, wrapped)
            merged = type(name, (), {"__doc__": classes[0].__doc__, "__module__": "onnx"})
            made_up.add(merged)
            for body in bodies:
                body.cls = merged
