"""The live model's ``state_dict`` keys, read from the plan without building the model.

The walk mirrors how :class:`~designer.live.model.LiveModel` registers its modules: a scope's
slots in order (a ``Sequential``, ``ModuleList`` or ``ModuleDict`` numbering or naming its
members, an optional or conditional slot holding its active node's module, a flag none), a
repeated node as a ``Sequential`` of its copies, a composite instance as its block's scope over
the instance's body. Only the torch layers are constructed, on the meta device, and each distinct
construction once: a layer's keys depend on its class and arguments alone (for the torch layers
of :data:`SIZE_FREE`, on their flags alone), and the composite instances validation shares
(repeat copies, identical instances) are walked once.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from designer.core.walk import Visit
from designer.live.layers import module_class
from designer.live.plan_types import Plan, Scope, Slot

# torch layers whose state-dict keys follow from their flags (bias, affine...), not their sizes
SIZE_FREE = frozenset(
    {nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.GroupNorm, nn.LayerNorm}
    | {getattr(nn, f"{kind}{n}d") for kind in ("BatchNorm", "InstanceNorm") for n in (1, 2, 3)}
)


def _flags(value):
    """``value`` with its sizes (ints, and tuples of them) left out: what SIZE_FREE keys read."""
    if type(value) is int:
        return "#"
    if isinstance(value, (tuple, list)):
        return tuple(map(_flags, value))
    return value


class _Visits:
    """A body's nodes as :class:`Visit` objects, made as the slots ask for them (no walk)."""

    def __init__(self, body, report) -> None:
        self.body, self.report = body, report

    def __contains__(self, node: str) -> bool:
        return node in self.report.nodes

    def __getitem__(self, node: str) -> Visit:
        return Visit(self.body, self.report, node, node)


class _Keys:
    """The walk, with what it already built: layer keys by construction, scope keys by body."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.layers: dict[tuple, tuple[str, ...]] = {}
        self.bodies: dict[int, tuple] = {}  # id(body) -> (body, its keys, scope): body kept alive

    def scope(self, scope: Scope, body, report) -> tuple[str, ...]:
        known = self.bodies.get(id(body))
        if known is not None and known[0] is body and scope is known[2]:
            return known[1]
        visits = _Visits(body, report)
        keys = tuple(
            f"{slot.attr}.{key}"
            for slot in scope.slots
            if slot.kind != "flag"
            for key in self.slot(slot, visits)
        )
        self.bodies[id(body)] = (body, keys, scope)
        return keys

    def slot(self, slot: Slot, visits: _Visits) -> Iterator[str]:
        if slot.kind in ("dict", "list"):
            for index, entry in enumerate(slot.entries):
                name = entry.attr if slot.kind == "dict" else index
                yield from (f"{name}.{key}" for key in self.slot(entry, visits))
        elif slot.kind == "sequential":
            for index, node in enumerate(slot.nodes):
                yield from (f"{index}.{key}" for key in self.node(visits[node]))
        elif slot.kind in ("optional", "choice"):
            active = next((n for n in slot.nodes if n in visits), None)
            if active is not None:
                yield from self.node(visits[active])
        else:
            yield from self.node(visits[slot.nodes[0]])

    def node(self, visit: Visit, *, copy: bool = False) -> tuple[str, ...]:
        if not copy and visit.info.repeat is not None:
            copies = [c for c, n in visit.copies() for _ in range(n)]
            return tuple(
                f"{index}.{key}"
                for index, one in enumerate(copies)
                for key in self.node(one, copy=True)
            )
        spec = visit.spec
        if spec.torch is None:
            return self.scope(self.plan.classes[spec.name].scope, *visit.body())
        positional, keywords = spec.torch.args(visit.values, visit.in_shapes)
        cls = module_class(spec.torch, visit.values)
        keywords = sorted(keywords.items())
        if cls in SIZE_FREE:
            made = (cls, repr(_flags(positional)), repr(_flags(keywords)))
        else:
            made = (cls, repr(positional), repr(keywords))
        keys = self.layers.get(made)
        if keys is None:
            with torch.device("meta"):
                keys = tuple(cls(*positional, **dict(keywords)).state_dict())
            self.layers[made] = keys
        return keys


def live_keys(plan: Plan) -> set[str]:
    """The keys of ``LiveModel(plan).state_dict()``."""
    return set(_Keys(plan).scope(plan.model, plan.design, plan.report))
