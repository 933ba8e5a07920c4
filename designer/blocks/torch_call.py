"""The open end of the vocabulary: any ``torch.nn`` layer or torch function, by its dotted name.

``TorchModule`` constructs a class of ``torch.nn`` (``torch.nn.GELU``) with keyword arguments;
``TorchFunction`` calls a function of ``torch`` or ``torch.nn.functional`` (``torch.flip``,
``torch.nn.functional.gelu``) on its input with keyword arguments. ``nn.`` and ``F.`` are accepted
as short forms.

Design files are untrusted, so a name resolves by ``getattr`` from the ``torch`` module only, one
public name below ``torch.nn`` (a subclass of ``nn.Module``), ``torch`` (an ATen operator or a
tensor function of ``torch.functional``) or ``torch.nn.functional`` (a function defined there);
anything else is refused with an issue naming the fix. No module is ever imported by name.

The output spec comes from running the block on the meta device (no memory, no arithmetic) at two
batch sizes: a dimension that follows the batch stays symbolic. Each outcome, a spec or an error,
is cached per (kind, name, keyword arguments, input specs), so a warm validation never runs torch
again. torch itself is imported only here, and only when such a block is validated.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from functools import partial
from typing import Any

from designer.core.forms import Functional, TorchModule
from designer.core.params import Kwargs, Path
from designer.core.registry import BlockSpec, register
from designer.core.rules import symbolic_error
from designer.core.shapes import ShapeError
from designer.core.tensor import DTYPES, TensorSpec

SHORT_FORMS = {"nn": "torch.nn", "F": "torch.nn.functional"}
NAMESPACES = {"module": ("torch.nn",), "function": ("torch", "torch.nn.functional")}
REFUSED = frozenset({"from_file", "load", "save"})  # touch files; never called
BATCHES = (3, 5)  # two batch sizes: a dimension equal to the batch in both follows it
CACHE_MAX = 4096
CONFIRM_ELEMENTS = 2**18  # inputs (and weights) up to this size are also run on the CPU
# Keys hold the checked kwargs as they are: a FrozenKwargs hashes (designer.core.params).
_OUTCOMES: dict[tuple, Any] = {}  # (kind, name, kwargs, specs) -> TensorSpec or (message, hint)
_COUNTS: dict[tuple, int] = {}  # (name, kwargs) -> the module's parameter count


class Refused(ValueError):
    """A target outside what the block may call; the message names the fix."""


def full_name(target: str) -> str:
    """``nn.GELU`` -> ``torch.nn.GELU``, ``F.gelu`` -> ``torch.nn.functional.gelu``."""
    head, _, rest = target.partition(".")
    return f"{SHORT_FORMS[head]}.{rest}" if head in SHORT_FORMS and rest else target


def split_target(kind: str, target: str) -> tuple[str, str]:
    """(namespace, name) of a target, or :class:`Refused` when it lies outside the allowed ones."""
    namespace, _, name = full_name(target).rpartition(".")
    allowed = NAMESPACES[kind]
    example = "torch.nn.GELU" if kind == "module" else "torch.tanh or torch.nn.functional.gelu"
    if namespace not in allowed or not name:
        where = " or ".join(f"{n}.<name>" for n in allowed)
        raise Refused(f"{target!r} is not under {where}; give a name such as {example}")
    if name.startswith("_"):
        raise Refused(f"{target!r} is private; give a public name such as {example}")
    return namespace, name


def resolve(kind: str, target: str) -> Any:
    """The class or function ``target`` names, found by getattr from torch (a ``python`` class:
    from its already imported module); or Refused."""
    import torch

    if kind == "python":
        return imported_class(target)

    namespace, name = split_target(kind, target)
    owner = torch.nn if namespace == "torch.nn" else torch
    owner = torch.nn.functional if namespace == "torch.nn.functional" else owner
    found = getattr(owner, name, None)
    if found is None:
        raise Refused(f"{namespace} has no {name!r}; check the spelling")
    if kind == "module":
        return _checked_class(target, found)
    return _checked_function(target, namespace, name, found)


def _checked_class(target: str, found: Any) -> type:
    import torch

    if not isinstance(found, type) or not issubclass(found, torch.nn.Module):
        raise Refused(f"{target!r} is not an nn.Module class; use TorchFunction for functions")
    if issubclass(found, torch.nn.modules.lazy.LazyModuleMixin):
        raise Refused(f"{target!r} is a lazy module; use its eager class with the sizes given")
    return found


def _checked_function(target: str, namespace: str, name: str, found: Any) -> Any:
    import torch

    if name in REFUSED or isinstance(found, type) or not callable(found):
        raise Refused(f"{target!r} is not a tensor function this block may call")
    if namespace == "torch":
        aten = getattr(torch._C._VariableFunctions, name, None) is found
        if not aten and getattr(found, "__module__", "") != "torch.functional":
            raise Refused(f"{target!r} is not a torch tensor operator; give one such as torch.tanh")
    elif getattr(found, "__module__", "") not in ("torch.nn.functional", "torch._C._nn", "torch"):
        raise Refused(f"{target!r} is not defined by torch.nn.functional")
    return found


def _kwargs_text(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _first_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= 300 else text[:297] + "..."


def outcome(kind: str, params: Mapping[str, Any], specs: list) -> TensorSpec:
    """The output spec of the block on these inputs, from the cache or one meta-device run."""
    target, kwargs = params["target"], params["kwargs"]
    key = (kind, target, kwargs, tuple(specs))
    found = _OUTCOMES.get(key)
    if found is None:
        if len(_OUTCOMES) >= CACHE_MAX:
            _OUTCOMES.clear()
        found = _OUTCOMES[key] = _evaluate(kind, target, kwargs, specs)
    if isinstance(found, TensorSpec):
        return found
    raise ShapeError(*found, code="param")


def _evaluate(kind: str, target: str, kwargs: Mapping[str, Any], specs: list):
    """A spec, or (message, hint) of the issue: refused target, bad arguments, a failing call."""
    error = symbolic_error(f"{target}", specs)
    if error is not None:
        return error.message, error.hint
    try:
        found = resolve(kind, target)
    except Refused as exc:
        return str(exc), "change the target"
    call = f"{target}({_kwargs_text(kwargs)})"
    try:
        outs = [_run(kind, found, kwargs, specs, batch, target) for batch in BATCHES]
        _confirm(kind, found, kwargs, specs, target)
    except Refused as exc:
        return f"{call}: {exc}", "change the target"
    except Exception as exc:  # torch's own message is the issue
        return f"{call} fails: {_first_line(exc)}", "fix the keyword arguments or the input"
    return _spec_of(call, specs[0], *outs)


def _run(kind: str, found: Any, kwargs: Mapping[str, Any], specs: list, batch: int, target: str):
    """(sizes, dtype) of the output at one batch size, on the meta device."""
    import torch

    tensors = [_meta(spec, batch) for spec in specs]
    with torch.device("meta"), torch.no_grad():
        if kind != "function":
            module = found(**kwargs)
            _COUNTS[(target, kwargs)] = sum(p.numel() for p in module.parameters())
            out = module(*tensors)
        else:
            out = found(*tensors, **kwargs)
    if not isinstance(out, torch.Tensor):
        raise Refused(f"returns {type(out).__name__}, not one tensor")
    return tuple(out.shape), str(out.dtype).removeprefix("torch.")


def _confirm(kind: str, found: Any, kwargs: Mapping[str, Any], specs: list, target: str) -> None:
    """Run small cases for real on the CPU too: some meta kernels check less than the CPU ones
    (softmax over a dimension past the rank passes on meta)."""
    import torch

    sizes = [[BATCHES[0] if d is None else d for d in spec.shape] for spec in specs]
    if sum(math.prod(s) for s in sizes) > CONFIRM_ELEMENTS:
        return
    if kind != "function" and _COUNTS.get((target, kwargs), 0) > CONFIRM_ELEMENTS:
        return
    tensors = [
        torch.zeros(s, dtype=getattr(torch, spec.dtype))
        for s, spec in zip(sizes, specs, strict=True)
    ]
    with torch.no_grad():
        (found(**kwargs) if kind != "function" else partial(found, **kwargs))(*tensors)


def _meta(spec: TensorSpec, batch: int):
    import torch

    sizes = [batch if size is None else size for size in spec.shape]
    return torch.empty(sizes, dtype=getattr(torch, spec.dtype), device="meta")


def _spec_of(call: str, first: TensorSpec, small: tuple, large: tuple):
    """The output spec: dimensions equal to the batch at both sizes take the batch's symbol."""
    (sizes, dtype), (other, _) = small, large
    if dtype not in DTYPES:
        return f"{call} gives {dtype} tensors", f"give a call that gives one of {', '.join(DTYPES)}"
    symbol = first.symbol(0) if first.rank and first.shape[0] is None else None
    dims = []
    for a, b in itertools.zip_longest(sizes, other):
        if a == b:
            dims.append(a)
        elif symbol is not None and (a, b) == BATCHES:
            dims.append(symbol)
        else:
            return f"{call} mixes the batch into a size ({a} at batch {BATCHES[0]})", (
                "keep the batch in a dimension of its own"
            )
    return TensorSpec.of(dims, dtype)


def _module_rule(params: Mapping[str, Any], specs: list) -> TensorSpec:
    return outcome("module", params, specs)


def _function_rule(params: Mapping[str, Any], specs: list) -> TensorSpec:
    return outcome("function", params, specs)


def _module_count(params: Mapping[str, Any], shapes: list, kind: str = "module") -> int:
    """Parameters of the module, counted on the meta device when its spec was inferred."""
    key = (params["target"], params["kwargs"])
    if key not in _COUNTS:
        outcome(kind, params, [TensorSpec(tuple(s)) for s in shapes])
    return _COUNTS.get(key, 0)


def imported_class(target: str) -> type:
    """The ``nn.Module`` class ``package.module.Class`` names, from that module if it is already
    imported (a design file never makes designer import a module); or Refused."""
    import sys

    import torch

    module, _, name = target.rpartition(".")
    if not module or not name.isidentifier():
        raise Refused(f"{target!r} is no import path; give one such as package.module.Class")
    if module not in sys.modules:
        raise Refused(
            f"{target!r}: module {module!r} is not imported; import it before loading the design "
            "(designer imports no module a file names)"
        )
    found = getattr(sys.modules[module], name, None)
    if not isinstance(found, type) or not issubclass(found, torch.nn.Module):
        raise Refused(f"{target!r} is not an nn.Module class of {module}")
    return found


def _class_name(params: Mapping[str, Any]) -> str:
    return full_name(params["target"]).rpartition(".")[2]


def _target(params: Mapping[str, Any]) -> str:
    return params["target"]


def _function_name(params: Mapping[str, Any]) -> str:
    return full_name(params["target"])


_KWARGS_DOC = "Keyword arguments: numbers, true/false, strings, None, lists of those."

register(
    BlockSpec(
        name="TorchModule",
        category="Torch",
        doc="Any torch.nn layer by its class name, e.g. torch.nn.GELU, with keyword arguments.",
        params=(
            Path("target", "torch.nn.GELU", "The torch.nn class (nn.GELU also reads)."),
            Kwargs("kwargs", _KWARGS_DOC),
        ),
        tensor_rule=_module_rule,
        count=_module_count,
        torch=TorchModule("GELU", lambda p, s: ((), dict(p["kwargs"])), cls_of=_class_name),
    )
)
register(
    BlockSpec(
        name="TorchFunction",
        category="Torch",
        doc="Any torch or torch.nn.functional function, e.g. torch.flip, on its input.",
        params=(
            Path("target", "torch.tanh", "The function (F.gelu reads as torch.nn.functional)."),
            Kwargs("kwargs", _KWARGS_DOC),
        ),
        tensor_rule=_function_rule,
        functional=Functional("torch.tanh", target_of=_function_name, extra="kwargs"),
    )
)
register(
    BlockSpec(
        name="PythonModule",
        category="Torch",
        doc="A module class by import path, e.g. package.module.Class, kept whole on import.",
        params=(
            Path("target", "torch.nn.Identity", "The class (its module must be imported)."),
            Kwargs("kwargs", _KWARGS_DOC),
        ),
        tensor_rule=lambda p, s: outcome("python", p, s),
        count=partial(_module_count, kind="python"),
        torch=TorchModule(
            "Identity", lambda p, s: ((), dict(p["kwargs"])), cls_of=_target, imported=True
        ),
    )
)
