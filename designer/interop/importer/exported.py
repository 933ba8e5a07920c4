"""torch.export as the second way in: for a model torch.fx cannot trace (Python that needs real
sizes, ``int(math.sqrt(n))``), and for ``.pt2`` files (``torch.export.save``).

The exported program is unflattened into its module tree (``torch.export.unflatten``: one
module per module call, named by its path, each running its own ATen calls), which the
hierarchy tracer then traces as it traces any model. Its ``nn_module_stack`` says which class
each path was: the model's own classes become the scopes (named after the original class, or a
class of the same name for a ``.pt2`` file); ``torch.nn`` layers become those layers again (the
model's own, or rebuilt from their call for a ``.pt2`` file); containers and layers without
state are traced through, their ATen calls rewritten as torch calls (:mod:`.aten`).
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.export import ExportedProgram

from designer.interop.importer.aten import torch_level
from designer.interop.importer.rebuild import rebuild

CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


@dataclass
class Unflattened:
    """What the tracer needs of an exported program: the module to trace and how to read it."""

    module: nn.Module
    inline: set[str] = field(default_factory=set)  # paths traced through (no scope)
    named: dict[str, nn.Module] = field(default_factory=dict)  # scope path -> what names it
    input_names: list[str] = field(default_factory=list)
    model: str = ""  # the model's class, module-qualified


_STAND_INS: dict[str, type] = {}


def stand_in(qualified: str) -> nn.Module:
    """An instance of a class named as ``qualified`` (``pkg.mod.Block``): what names a scope of
    a ``.pt2`` file, whose classes are not imported."""
    cls = _STAND_INS.get(qualified)
    if cls is None:
        module, _, name = qualified.rpartition(".")
        cls = _STAND_INS[qualified] = type(name, (nn.Module,), {"__module__": module or "pt2"})
    return cls()


def _torch_class(qualified: str) -> type | None:
    """The ``torch.nn`` class named ``torch.nn.modules.conv.Conv2d``, else None."""
    module, _, name = qualified.rpartition(".")
    if not module.startswith("torch.nn."):
        return None
    try:
        cls = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    return cls if isinstance(cls, type) and issubclass(cls, nn.Module) else None


def _original(model: nn.Module | None, path: str) -> nn.Module | None:
    if model is None:
        return None
    try:
        return model.get_submodule(path)
    except AttributeError:
        return None


def module_classes(program: ExportedProgram) -> dict[str, str]:
    """Module path -> qualified class name, from the graph's ``nn_module_stack``."""
    classes: dict[str, str] = {}
    for node in program.graph.nodes:
        for path, kind in (node.meta.get("nn_module_stack") or {}).values():
            name = kind if isinstance(kind, str) else f"{kind.__module__}.{kind.__qualname__}"
            classes.setdefault(path, name)
    return classes


def _input_names(program: ExportedProgram, original: nn.Module | None) -> list[str]:
    specs = program.graph_signature.input_specs
    names = [
        s.arg.name for s in specs if s.kind == torch.export.graph_signature.InputKind.USER_INPUT
    ]
    if original is not None:
        params = inspect.signature(original.forward).parameters
        positional = [p for p in params if params[p].kind == params[p].POSITIONAL_OR_KEYWORD]
        if len(positional) >= len(names):
            names = positional[: len(names)]
    return names


def _swap(root: nn.Module, path: str, module: nn.Module) -> None:
    owner, _, name = path.rpartition(".")
    setattr(root.get_submodule(owner), name, module)


def unflatten(program: ExportedProgram, original: nn.Module | None = None) -> Unflattened:
    """The program's module tree, ready for the hierarchy tracer; ``original`` is the model it
    was exported from (its own layers and classes are used), None for a ``.pt2`` file."""
    with warnings.catch_warnings():  # torch's own deprecations, of no use to the user
        warnings.simplefilter("ignore", FutureWarning)
        flat = torch.export.unflatten(program)
    classes = module_classes(program)
    found = Unflattened(flat, input_names=_input_names(program, original))
    found.model = classes.get("", type(original).__qualname__ if original is not None else "")
    found.named[""] = original if original is not None else stand_in(found.model)
    layers: list[str] = []  # torch.nn layers: what lies below them is theirs
    for path, module in list(flat.named_modules())[1:]:
        if any(path.startswith(f"{layer}.") for layer in layers):
            continue
        qualified = classes.get(path, "")
        torch_cls = _torch_class(qualified)
        if qualified.rpartition(".")[2] in CONTAINERS or not hasattr(module, "graph"):
            found.inline.add(path)
        elif torch_cls is not None:
            layers.append(path)
            layer = _original(original, path)
            layer = rebuild(module, torch_cls) if layer is None else layer
            if layer is not None:
                _swap(flat, path, layer)
            else:
                found.inline.add(path)
        else:
            own = _original(original, path)
            found.named[path] = stand_in(qualified) if own is None else own
    for module in flat.modules():
        if hasattr(module, "graph") and isinstance(module.graph, torch.fx.Graph):
            torch_level(module.graph)
    return found
