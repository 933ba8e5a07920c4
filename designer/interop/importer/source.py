"""Import a model named by text, as ``designer import`` and the editor's File › Import do: a
callable (``package.module:callable`` or ``path/to/file.py:callable``, a module class or a
factory called with keyword arguments), a ``.pt2`` file (``torch.export.save``) or an ``.onnx``
file; and write the result as a design and its weights beside it.

Python sources run with the user's permissions: import only code you trust.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from designer.core.tensor import DTYPES

Example = tuple[tuple[int, ...], str]  # an example input: its shape (batch first) and dtype


class SourceError(ValueError):
    """A source that cannot be read or called: the message says what to give instead."""


def parse_example(text: str) -> Example:
    """``2,3,32,32`` (or ``2x3x32x32``), optionally ``:int64`` -> (shape, dtype)."""
    shape_text, _, dtype = text.strip().partition(":")
    parts = [p.strip() for p in re.split(r"[,x×]", shape_text)]
    if not all(p.isdigit() for p in parts) or not all(int(p) > 0 for p in parts):
        raise SourceError(f"{text!r} is not a shape like 2,3,32,32 (batch first, sizes > 0)")
    dtype = dtype.strip() or "float32"
    if dtype not in DTYPES:
        raise SourceError(f"{text!r}: unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    return tuple(int(p) for p in parts), dtype


def _top_level(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def parse_kwargs(text: str) -> dict[str, Any]:
    """``k=v,k2=(3, 4)`` with Python literal values (strings may go unquoted)."""
    found = {}
    for item in filter(None, (part.strip() for part in _top_level(text))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise SourceError(f"{item!r} is not NAME=VALUE")
        try:
            found[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            found[key.strip()] = value.strip()
    return found


def source_file(source: str) -> str | None:
    """The file a source reads, if it names one (for output checks)."""
    if source.endswith((".onnx", ".pt2")):
        return source
    where = source.rpartition(":")[0]
    return where if where.endswith(".py") else None


def default_output(source: str) -> Path:
    """Where the design goes by default: beside the source file (else in the working folder),
    named after the callable or the file: ``nets.py:ResNet`` -> ``ResNet.json`` beside
    ``nets.py``, ``model.pt2`` -> ``model.json``."""
    file = source_file(source)
    folder = Path(file).parent if file else Path.cwd()
    stem = Path(source).stem if source.endswith((".onnx", ".pt2")) else source.rpartition(":")[2]
    return folder / f"{stem or 'imported'}.json"


def _examples(inputs: list[Example]):
    import torch

    def one(shape, dtype):
        kind = getattr(torch, dtype)
        if kind.is_floating_point:
            return torch.randn(shape, dtype=kind)
        return torch.zeros(shape, dtype=kind)  # token ids 0: in range for any embedding

    return tuple(one(shape, dtype) for shape, dtype in inputs)


def import_source(
    source: str,
    inputs: list[Example] | tuple = (),
    kwargs: dict[str, Any] | None = None,
    name: str | None = None,
):
    """The :class:`~designer.interop.importer.ImportResult` of ``source``; ``inputs`` are the
    example inputs (required for a callable; a ``.pt2`` file has its own, an ``.onnx`` file its
    declared shapes). Raises :class:`SourceError` for a source that cannot be used and
    :class:`~designer.interop.importer.ImportFailed` for a model no design expresses."""
    inputs = list(inputs)
    if source.endswith(".onnx"):
        return _import_onnx(source, [shape for shape, _ in inputs], name)
    if source.endswith(".pt2"):
        return _import_pt2(source, inputs, name)
    from designer.interop.importer.api import import_torch

    module = _instantiate(source, kwargs or {})
    guess = None if inputs else guess_input(module)
    if guess is not None:
        inputs = [guess[0]]
    elif not inputs:
        raise SourceError("give an input shape (N,C,H,W) for each input of a PyTorch model")
    result = import_torch(module.eval(), _examples(inputs), name=name)
    if guess is not None:
        result.notes.insert(0, guess[1])
    return result


_SIZES = {1: (256,), 2: (224, 224), 3: (16, 112, 112)}  # a typical input per convolution rank


def guess_input(module) -> tuple[Example, str] | None:
    """An example input for a model that takes one tensor, from its first layer with weights:
    a convolution (one image of its channels, 224x224 in 2-d), a Linear (a row of its features)
    or an Embedding (16 token ids); None when there is no such layer or ``forward`` needs more."""
    import inspect

    from torch import nn

    try:
        wanted = [
            p
            for p in inspect.signature(module.forward).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return None
    if len(wanted) != 1:
        return None
    for path, layer in module.named_modules():
        if isinstance(layer, nn.modules.conv._ConvNd) and not layer.transposed:
            shape: tuple[int, ...] = (1, layer.in_channels, *_SIZES[len(layer.kernel_size)])
            dtype = "float32"
        elif isinstance(layer, nn.Linear):
            shape, dtype = (1, layer.in_features), "float32"
        elif isinstance(layer, nn.Embedding):
            shape, dtype = (1, 16), "int64"
        else:
            continue
        text = ",".join(map(str, shape)) + ("" if dtype == "float32" else f":{dtype}")
        return (shape, dtype), (
            f"no input shape given: {text} guessed from the first layer, {path} "
            f"({type(layer).__name__}); give --input-shape to choose"
        )
    return None


def _import_pt2(path: str, inputs: list[Example], name: str | None):
    import torch

    from designer.interop.importer.api import import_exported

    if not os.path.isfile(path):
        raise SourceError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():  # torch's own deprecations, of no use to the user
            warnings.simplefilter("ignore", FutureWarning)
            program = torch.export.load(path)
    except Exception as exc:  # a file of another kind or version
        raise SourceError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
    if not inputs and not program.example_inputs:
        raise SourceError(f"{path} keeps no example inputs; give an input shape for each input")
    return import_exported(program, _examples(inputs) if inputs else None, name=name)


def _import_onnx(path: str, shapes: list[tuple[int, ...]], name: str | None):
    from designer.interop.onnx_import import BadFile, import_onnx

    try:
        return import_onnx(path, input_shapes=_named(path, shapes) if shapes else None, name=name)
    except BadFile as exc:
        raise SourceError(str(exc)) from None


def _named(path: str, shapes: list[tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """The ONNX graph's input names paired, in order, with the given shapes."""
    import onnx

    if not os.path.isfile(path):
        raise SourceError(f"{path}: no such file")
    graph = onnx.load(path, load_external_data=False).graph
    weights = {t.name for t in graph.initializer}
    names = [i.name for i in graph.input if i.name not in weights]
    if len(names) != len(shapes):
        raise SourceError(f"{path} has {len(names)} input(s); give one input shape for each")
    return dict(zip(names, shapes, strict=True))


def _instantiate(source: str, kwargs: dict):
    """The module SOURCE's callable makes with ``kwargs``; SourceError names what went wrong."""
    from torch import nn

    where, sep, name = source.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise SourceError(f"{source!r}: write package.module:callable or file.py:callable")
    factory = getattr(_module(where), name, None)
    if not callable(factory):
        raise SourceError(f"{where} has no callable {name!r}")
    try:
        model = factory(**kwargs)
    except Exception as exc:  # the user's code: report it, do not crash
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise SourceError(f"{name}({shown}) failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise SourceError(f"{name}(...) returned {type(model).__name__}, not an nn.Module")
    return model


def _module(where: str):
    try:
        if not where.endswith(".py"):
            return importlib.import_module(where)
        if not os.path.isfile(where):
            raise SourceError(f"{where}: no such file")
        folder = os.path.dirname(os.path.abspath(where))
        if folder not in sys.path:
            sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location(Path(where).stem, where)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        # by its name, so that a module of it kept whole is named by import path (generated
        # code imports it from there); another module already of that name keeps it
        known = sys.modules.get(spec.name)
        if known is None or getattr(known, "__file__", None) == module.__file__:
            sys.modules[spec.name] = module
        return module
    except SourceError:
        raise
    except Exception as exc:  # an import error in the user's code
        raise SourceError(f"cannot import {where}: {type(exc).__name__}: {exc}") from None


def write_result(result, path: str | Path) -> Path | None:
    """Write the design to ``path`` and its weights beside it (``.safetensors``); returns the
    weights' path, or None when some weight sits on the meta device (it has no values to write:
    the report says so)."""
    from safetensors.torch import save

    from designer.core.atomicfile import atomic_write
    from designer.core.fileformat import save as save_design

    path = Path(path)
    save_design(result.design, path)
    if any(t.is_meta for t in result.state_dict.values()):
        result.notes.append("weights on the meta device hold no values: no weights file written")
        return None
    weights = path.with_suffix(".safetensors")
    atomic_write(weights, save({k: v.contiguous() for k, v in result.state_dict.items()}))
    return weights
