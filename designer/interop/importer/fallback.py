"""Modules kept whole: a submodule whose body holds an op no block expresses stays one opaque
node that constructs its class by import path.

For each failure the innermost module around it that can be rebuilt is chosen: its class is
importable by name, its constructor's arguments are read back from the instance (each parameter
of ``__init__`` from the attribute of the same name, or from a child's, else its default), and
the rebuilt module, its weights loaded strictly, computes what the original did on the example.
Only when no enclosing module rebuilds does the import fail, naming the module path and the op.
"""

from __future__ import annotations

import inspect
from collections import Counter
from dataclasses import dataclass
from itertools import islice, product
from typing import Any

import torch
from torch import fx, nn

from designer.blocks.torch_call import Refused, imported_class
from designer.core.registry import REGISTRY
from designer.interop.importer.devices import holds_meta
from designer.interop.importer.mapped import Opaque, where
from designer.interop.importer.modules import Unsupported
from designer.interop.importer.tracer import ScopeCall, Trace
from designer.interop.importer.values import UNKNOWN, meta_like
from designer.interop.importer.wrapped import literal_kwargs

KEPT_BLOCK = "PythonModule"  # the block that constructs a class by import path, when registered
_SKIPPED = frozenset({"self", "device", "dtype"})
TOLERANCE = 1e-5
EMPTY = inspect.Parameter.empty
# constructor parameters that usually give the input size, and where a layer keeps its own
SIZE_NAMES = frozenset(
    {"channels", "in_channels", "dim", "features", "in_features", "num_features", "embed_dim"}
    | {"d_model", "hidden_dim", "planes", "inplanes", "in_planes", "width", "input_dim"}
)
SIZE_ENDINGS = ("_dim", "_channels", "_features", "_planes")
_LAYER_SIZES = (
    "in_channels",
    "in_features",
    "num_features",
    "embed_dim",
    "normalized_shape",
    "out_channels",
    "out_features",
)
MAX_GUESSES = 64  # size combinations tried for the sizes a module does not keep


@dataclass
class Kept:
    """A module kept whole: its path, the class by import path, the constructor's arguments,
    and the failures inside it."""

    path: str
    target: str
    kwargs: dict[str, Any]
    failures: list[Opaque]
    output: Any = None  # what it returned in the example run

    @property
    def record(self) -> Opaque:
        reasons = "; ".join(f"{o.op}: {o.reason}" for o in self.failures[:3])
        cls = self.target.rpartition(".")[2]
        return Opaque(self.path, self.target, f"kept as an opaque module ({reasons})", cls)


def import_path(cls: type) -> str | None:
    """``package.module.Class`` when that already imported module holds this very class (no
    module is imported here), else None."""
    if "<locals>" in cls.__qualname__ or "." in cls.__qualname__:
        return None
    path = f"{cls.__module__}.{cls.__qualname__}"
    try:
        return path if imported_class(path) is cls else None
    except Refused:
        return None


def _attribute(module: nn.Module, name: str) -> Any:
    """The value the instance keeps for constructor parameter ``name``: its attribute, or for
    ``qkv_bias`` whether its child ``qkv`` has a bias; ``EMPTY`` when it keeps none."""
    own = vars(module)
    if name in own:
        return own[name]
    child = module._modules.get(name.removesuffix("_bias")) if name.endswith("_bias") else None
    if child is not None and hasattr(child, "bias"):
        return child.bias is not None
    return EMPTY


def _layer_sizes(module: nn.Module) -> list[int]:
    """The sizes its layers read and make (channels, features...), each once, in order."""
    sizes: list[int] = []
    for layer in list(module.modules())[1:]:
        for attribute in _LAYER_SIZES:
            size = getattr(layer, attribute, None)
            if isinstance(size, (tuple, list)) and len(size) == 1:
                size = size[0]
            if isinstance(size, int) and size not in sizes:
                sizes.append(size)
    return sizes


def _read(module: nn.Module) -> tuple[dict[str, Any], list[str]]:
    """The constructor's arguments the instance keeps (off their defaults, in the signature's
    order, a size it does not keep as None) and the sizes to guess from its layers."""
    try:
        signature = inspect.signature(type(module).__init__)
    except (TypeError, ValueError) as exc:
        raise Unsupported("its constructor's signature cannot be read") from exc
    found: dict[str, Any] = {}
    guessed: list[str] = []
    for name, param in signature.parameters.items():
        if name in _SKIPPED or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        value = _attribute(module, name)
        if value is EMPTY and param.default is param.empty:
            if name not in SIZE_NAMES and not name.endswith(SIZE_ENDINGS):
                raise Unsupported(f"its constructor's {name!r} is not kept on the instance")
            found[name] = None
            guessed.append(name)
        elif value is not EMPTY and (param.default is param.empty or value != param.default):
            found[name] = value
    return found, guessed


def _same_shapes(module: nn.Module, kwargs: dict[str, Any]) -> bool:
    """Whether the class built from ``kwargs`` (on the meta device) holds tensors of the
    module's shapes."""
    try:
        with torch.device("meta"):
            twin = type(module)(**kwargs)
    except Exception:  # the user's constructor refusing a guess
        return False
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    return shapes == {k: tuple(v.shape) for k, v in twin.state_dict().items()}


def constructor_kwargs(module: nn.Module) -> dict[str, Any]:
    """Keyword arguments rebuilding ``module``; a size it does not keep is the one of its
    layers' sizes that gives tensors of its shapes. :class:`Unsupported` when a required
    argument is neither kept nor such a size, or is no literal."""
    found, guessed = _read(module)
    sizes = _layer_sizes(module)
    for values in islice(product(sizes, repeat=len(guessed)), MAX_GUESSES):
        kwargs = {**found, **dict(zip(guessed, values, strict=True))}
        if not guessed or _same_shapes(module, kwargs):
            literal = literal_kwargs(kwargs)
            if literal is None:
                raise Unsupported("a constructor argument is no literal (a number, string...)")
            return dict(literal)
    raise Unsupported(
        f"its constructor's {', '.join(map(repr, guessed))} is not kept on the instance, "
        "nor any size of its layers"
    )


def _outputs(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _outputs(item)]
    return []


def _same(got: Any, want: Any) -> bool:
    got, want = _outputs(got), _outputs(want)
    return len(got) == len(want) and all(
        a.shape == b.shape
        and a.dtype == b.dtype
        and (a - b).abs().max().item() <= TOLERANCE * max(1.0, b.abs().max().item())
        for a, b in zip(got, want, strict=True)
        if a.numel()
    )


def rebuild(module: nn.Module, call: tuple[tuple, dict, Any]) -> dict[str, Any]:
    """The keyword arguments that rebuild ``module``, checked: the twin loads its weights
    strictly and gives its outputs on the example ``call`` (args, kwargs, outputs)."""
    kwargs = constructor_kwargs(module)
    if holds_meta(module):  # meta weights hold no values: nothing to load or compare
        return kwargs
    try:
        twin = type(module)(**kwargs)
        twin.load_state_dict(module.state_dict(), strict=True)
    except Exception as exc:  # the user's constructor, or weights of other shapes
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise Unsupported(f"rebuilt from {kwargs}, it does not take its weights ({first})") from exc
    twin.train(module.training)
    args, keywords, want = call
    with torch.no_grad():
        got = twin(*args, **keywords)
    if not _same(got, want):
        raise Unsupported(f"rebuilt from {kwargs}, it computes something else")
    return kwargs


def record_calls(root: nn.Module, inputs: tuple, paths: set[str]) -> dict[str, tuple]:
    """One real run of ``root``: the first call's (args, kwargs, outputs) of each module path."""
    seen: dict[str, tuple] = {}
    modules = dict(root.named_modules())
    hooks = []

    def hook(path: str):
        def grab(module, args, kwargs, output):
            seen.setdefault(path, (args, kwargs, output))

        return grab

    for path in paths:
        if path in modules:
            hooks.append(modules[path].register_forward_hook(hook(path), with_kwargs=True))
    try:
        with torch.no_grad():
            root(*inputs)
    except Exception:  # a model that does not run as it was traced: nothing is kept
        return {}
    finally:
        for handle in hooks:
            handle.remove()
    return seen


def _by_path(scopes: list[ScopeCall]) -> dict[str, list[ScopeCall]]:
    """The calls of each module path, in call order (the model itself excluded)."""
    index: dict[str, list[ScopeCall]] = {}
    for call in scopes[1:]:
        index.setdefault(call.path, []).append(call)
    return index


def _enclosing(index: dict[str, list[ScopeCall]], path: str) -> list[ScopeCall]:
    """The calls around module ``path`` (``index``: :func:`_by_path`), innermost first."""
    parts = path.split(".")
    around = (".".join(parts[:n]) for n in range(len(parts), 0, -1))
    return [call for prefix in around for call in index.get(prefix, ())]


def keep_modules(
    root: nn.Module,
    scopes: list[ScopeCall],
    inputs: tuple,
    failures: list[Opaque],
    kept_before: dict[str, Kept],
) -> tuple[list[Kept], list[Opaque]]:
    """The modules to keep whole for ``failures`` (beside those ``kept_before``), and the
    failures no rebuilt module covers (each naming why its enclosing modules could not be kept)."""
    index = _by_path(scopes)
    candidates = {c.path for f in failures for c in _enclosing(index, f.path)}
    candidates -= set(kept_before)
    calls = record_calls(root, inputs, candidates) if candidates else {}
    runs = Counter(c.path for c in scopes)
    kept: dict[str, Kept] = {}
    left: list[Opaque] = []
    tried: dict[str, str | dict] = {}
    for failure in failures:
        chosen = None
        why = []
        for call in _enclosing(index, failure.path):
            if call.path in kept_before:
                continue
            if call.path not in tried:
                tried[call.path] = _try(call, calls.get(call.path), runs[call.path])
            if isinstance(tried[call.path], dict):
                chosen = call
                break
            why.append(f"{where(call.path, call.cls)} {tried[call.path]}")
        if chosen is None:
            left.append(_uncovered(failure, why))
            continue
        item = kept.setdefault(
            chosen.path,
            Kept(
                chosen.path,
                import_path(type(chosen.module)),
                tried[chosen.path],
                [],
                calls[chosen.path][2],
            ),
        )
        item.failures.append(failure)
    return _outermost(list(kept.values())), left


def _uncovered(failure: Opaque, why: list[str]) -> Opaque:
    """The failure, with why the innermost module around it cannot be kept in its place."""
    if not why:
        return failure
    more = f" (nor {len(why) - 1} around it)" if len(why) > 1 else ""
    reason = f"{failure.reason}; cannot keep {why[0]}{more}"
    return Opaque(failure.path, failure.op, reason, failure.cls)


def _try(call: ScopeCall, recorded: tuple | None, runs: int) -> str | dict:
    """The checked keyword arguments, or why the module cannot be kept."""
    if runs > 1:
        return f"(it runs {runs} times; a design cannot share weights between nodes)"
    if import_path(type(call.module)) is None:
        return "(its class cannot be imported by name)"
    if recorded is None:
        return "(the example run does not call it)"
    args, kwargs, output = recorded
    if len(args) + len(kwargs) != 1 or not isinstance((*args, *kwargs.values())[0], torch.Tensor):
        return "(it is called with other than one tensor)"
    if not isinstance(output, torch.Tensor):
        return "(it returns other than one tensor)"
    try:
        return rebuild(call.module, recorded)
    except Unsupported as exc:
        return f"({exc})"


def _outermost(kept: list[Kept]) -> list[Kept]:
    """A module kept inside another kept one merges into it."""
    paths = sorted(kept, key=lambda k: len(k.path))
    result: list[Kept] = []
    for item in paths:
        outer = next((k for k in result if item.path.startswith(k.path + ".")), None)
        if outer is None:
            result.append(item)
        else:
            outer.failures += item.failures
    return result


def settle(trace: Trace, kept: list[Kept]) -> None:
    """Give the outputs of modules kept whole their example values (an op inside may have had
    none on the meta device), then what was computed from them."""
    calls = {c.path: c for c in trace.scopes}
    for item in kept:
        outputs = calls[item.path].outputs
        if outputs and isinstance(outputs[0], fx.Node):
            trace.values.values[outputs[0]] = meta_like(item.output)
    for node in trace.graph.nodes:
        if node.op not in ("placeholder", "output") and trace.values.get(node) is UNKNOWN:
            trace.values.add(node)


def kept_block_registered() -> bool:
    """Whether the vocabulary has the block that constructs a module by import path."""
    return KEPT_BLOCK in REGISTRY


def unregistered(kept: Kept) -> Opaque:
    """A module that rebuilds, reported as a failure while no block can hold it."""
    failures = "; ".join(f"{o.op}: {o.reason}" for o in kept.failures[:3])
    call = f"{kept.target}({', '.join(f'{k}={v!r}' for k, v in kept.kwargs.items())})"
    reason = (
        f"{failures}; the module rebuilds as {call} (weights and outputs checked), but no "
        f"{KEPT_BLOCK} block is registered to keep it whole"
    )
    return Opaque(kept.path, kept.target.rpartition(".")[2], reason)
