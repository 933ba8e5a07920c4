"""Where each node ran: the module path (``down1.maxpool_conv.1``) and, when the file says, the
class of every module on it.

Exporters write this three ways: torch's dynamo exporter as node metadata
(``pkg.torch.onnx.name_scopes`` and ``pkg.torch.onnx.class_hierarchy``), ``designer export`` as
the node name ``down1.pool_conv.1.double_conv.0/Conv``, torch's TorchScript exporter as
``/down1/maxpool_conv/maxpool_conv.0/MaxPool`` (a child of a container repeats its name). A node
with none of these (``Add_3``) ran in the model itself.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from onnx import NodeProto

CONTAINERS = frozenset(
    f"torch.nn.modules.container.{name}" for name in ("Sequential", "ModuleList", "ModuleDict")
)
_LIBRARY = "torch.nn.modules."


@dataclass
class Place:
    """The module a node ran in (``""``: the model) and the classes along its path."""

    module: str
    classes: dict[str, str] = field(default_factory=dict)  # module path -> qualified class


def _metadata_place(meta: dict[str, str]) -> Place | None:
    try:
        scopes = ast.literal_eval(meta["pkg.torch.onnx.name_scopes"])
        classes = ast.literal_eval(meta.get("pkg.torch.onnx.class_hierarchy", "[]"))
    except (KeyError, ValueError, SyntaxError):
        return None
    if not isinstance(scopes, list) or len(scopes) < 2:
        return None
    modules = [str(s) for s in scopes[1:-1]]
    named = dict(zip(modules, (str(c) for c in classes[1:-1]), strict=False))
    return Place(modules[-1] if modules else "", named)


def _name_place(name: str) -> Place:
    parts = [p for p in name.split("/") if p][:-1]
    full, previous = "", ""
    for part in parts:
        if previous and part.startswith(previous + "."):
            full = full + part[len(previous) :]
        else:
            full = f"{full}.{part}" if full else part
        previous = part
    return Place(full)


def place_of(proto: NodeProto) -> Place:
    """The node's module path, from its metadata when present, else from its name."""
    meta = {p.key: p.value for p in proto.metadata_props}
    found = _metadata_place(meta) if "pkg.torch.onnx.name_scopes" in meta else None
    return found if found is not None else _name_place(proto.name)


def parent(path: str) -> str:
    return path.rpartition(".")[0]


def last(path: str) -> str:
    return path.rpartition(".")[2]


def is_container_class(qualified: str | None) -> bool:
    return qualified in CONTAINERS


def is_layer_class(qualified: str | None) -> bool:
    """A torch.nn layer (Conv2d, BatchNorm2d, ReLU): its nodes are one block, not a composite."""
    return bool(qualified) and qualified.startswith(_LIBRARY) and qualified not in CONTAINERS


def class_name(path: str, classes: dict[str, str]) -> str:
    """The composite block's name: the module's class, else one made from its attribute name
    (``down3`` -> ``Down``, ``layer1.0`` -> ``LayerBlock``)."""
    qualified = classes.get(path)
    if qualified:
        return qualified.rsplit(".", 1)[-1]
    name, suffix = last(path), ""
    if name.isdigit():
        name, suffix = last(parent(path)) or "", "Block"
    words = [w for w in re.split(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])", name) if w]
    camel = "".join(w[:1].upper() + w[1:] for w in words).rstrip("0123456789")
    if not camel or not camel[0].isalpha():
        return "Block"
    return camel + suffix
