"""``designer import SOURCE -o DESIGN.json``: an existing model as an editable design + weights.

SOURCE is ``package.module:callable`` or ``path/to/file.py:callable`` (a module class or a factory,
called with ``--args``), or an ``.onnx`` file. Python sources run with your permissions: import
only code you trust.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys

from designer.cli.common import check_output, parse_shape
from designer.cli.usage import UsageError


def keyword_args(text: str) -> dict:
    """``k=v,k2=v2`` with Python literal values (strings may go unquoted)."""
    found = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise argparse.ArgumentTypeError(f"{item!r} is not NAME=VALUE")
        try:
            found[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            found[key.strip()] = value.strip()
    return found


def add_parser(sub):
    p = sub.add_parser(
        "import",
        help="import a PyTorch module or an ONNX file as an editable design",
        description=__doc__.split("\n\n", 1)[1].replace("``", "'"),
    )
    p.add_argument("source", help="package.module:callable, file.py:callable or model.onnx")
    p.add_argument("-o", "--output", required=True, help="the design to write (.json)")
    p.add_argument("--args", type=keyword_args, default={}, metavar="K=V,...")
    p.add_argument(
        "--input-shape",
        type=parse_shape,
        action="append",
        default=[],
        metavar="N,C,H,W",
        help="an example input's shape, batch first (one per model input)",
    )
    p.add_argument("--name", help="the design's name (default: the model's class)")
    return p


def run(args) -> int:
    from designer.core.fileformat import save
    from designer.interop.importer import ImportFailed

    source_file = args.source if args.source.endswith(".onnx") else args.source.rpartition(":")[0]
    check_output(args.output, source_file or None)
    try:
        result = _import(args)
    except ImportFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    weights = os.path.splitext(args.output)[0] + ".safetensors"
    save(result.design, args.output)
    _save_weights(result.state_dict, weights)
    print(result.report())
    print(f"wrote {args.output} and {weights}")
    return 0


def _import(args):
    if args.source.endswith(".onnx"):
        return _import_onnx(args.source, args.input_shape)
    if not args.input_shape:
        raise UsageError("give --input-shape N,C,H,W for each input of a PyTorch model")
    import torch

    from designer.interop.importer import import_torch

    module = _instantiate(args.source, args.args)
    inputs = tuple(torch.randn(shape) for shape in args.input_shape)
    return import_torch(module.eval(), inputs, name=args.name)


def _import_onnx(path: str, shapes: list[tuple[int, ...]]):
    from designer.interop.onnx_import import BadFile, import_onnx

    try:
        return import_onnx(path, input_shapes=_named(path, shapes) if shapes else None)
    except BadFile as exc:
        raise UsageError(str(exc)) from None


def _named(path: str, shapes: list[tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """The ONNX graph's input names paired, in order, with the --input-shape values."""
    import onnx

    graph = onnx.load(path, load_external_data=False).graph
    weights = {t.name for t in graph.initializer}
    names = [i.name for i in graph.input if i.name not in weights]
    if len(names) != len(shapes):
        raise UsageError(f"{path} has {len(names)} input(s); give one --input-shape for each")
    return dict(zip(names, shapes, strict=True))


def _instantiate(source: str, kwargs: dict):
    """The module SOURCE's callable makes with ``kwargs``; a UsageError names what went wrong."""
    from torch import nn

    where, sep, name = source.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise UsageError(f"{source!r}: write package.module:callable or file.py:callable")
    factory = getattr(_module(where), name, None)
    if not callable(factory):
        raise UsageError(f"{where} has no callable {name!r}")
    try:
        model = factory(**kwargs)
    except Exception as exc:  # the user's code: report it, do not crash
        raise UsageError(f"{name}({_shown(kwargs)}) failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise UsageError(f"{name}(...) returned {type(model).__name__}, not an nn.Module")
    return model


def _module(where: str):
    import importlib
    import importlib.util

    try:
        if not where.endswith(".py"):
            return importlib.import_module(where)
        if not os.path.isfile(where):
            raise UsageError(f"{where}: no such file")
        sys.path.insert(0, os.path.dirname(os.path.abspath(where)))
        spec = importlib.util.spec_from_file_location(os.path.basename(where)[:-3], where)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    except UsageError:
        raise
    except Exception as exc:  # an import error in the user's code
        raise UsageError(f"cannot import {where}: {type(exc).__name__}: {exc}") from None


def _shown(kwargs: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _save_weights(state: dict, path: str) -> None:
    from safetensors.torch import save

    from designer.core.atomicfile import atomic_write

    atomic_write(path, save({k: v.contiguous() for k, v in state.items()}))
