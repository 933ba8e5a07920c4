"""Reading an ONNX model (a path, bytes or a ``ModelProto``) with one clear error for a file that
is not one: :class:`BadFile`, never a protobuf traceback. Also the model's default opset, its
real inputs (initializers listed as inputs are not), their example shapes, and its constants."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError
from onnx import ModelProto, TensorProto, numpy_helper

from designer.interop.importer.result import ImportFailed
from designer.interop.onnx_import.values import Const


class BadFile(ImportFailed):
    """The source is not an ONNX model this importer can read; ``status`` 2 (a file problem)."""

    def __init__(self, message: str, model: str = "", status: int = 2) -> None:
        ValueError.__init__(self, message)
        self.model, self.opaque, self.notes, self.status = model, [], [], status


INPUT_DTYPES = {TensorProto.FLOAT: "float32", TensorProto.INT64: "int64", TensorProto.BOOL: "bool"}


@dataclass
class GraphInput:
    name: str
    shape: tuple[int, ...]  # batch first, every size known
    dtype: str = "float32"


def read(source) -> tuple[ModelProto, str]:
    """The model and how messages name it (its path as given, or ``the model``)."""
    if isinstance(source, ModelProto):
        model, label = source, source.graph.name or "the model"
    elif isinstance(source, (bytes, bytearray)):
        model, label = _parse(bytes(source), "the model bytes"), "the model bytes"
    elif isinstance(source, (str, os.PathLike)):
        model, label = _load(Path(source)), str(source)
    else:
        raise TypeError("import_onnx takes a path, the bytes of a model or an onnx.ModelProto")
    _check(model, label)
    return model, label


def _load(path: Path) -> ModelProto:
    if not path.exists():
        raise BadFile(f"{path}: no such file")
    if path.is_dir():
        raise BadFile(f"{path}: is a folder, not an ONNX file")
    try:
        return onnx.load(str(path))
    except DecodeError as exc:
        raise BadFile(f"{path}: not an ONNX model (it does not parse: {exc})") from None
    except (OSError, ValueError, RuntimeError) as exc:  # unreadable, or external data missing
        raise BadFile(f"{path}: cannot be read: {exc}") from None


def _parse(data: bytes, label: str) -> ModelProto:
    try:
        return onnx.load_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise BadFile(f"{label}: not an ONNX model (it does not parse: {exc})") from None


def _check(model: ModelProto, label: str) -> None:
    """Protobuf parses many byte strings as an empty model: ask for the parts a model has."""
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.output:
        raise BadFile(f"{label}: not an ONNX model (no IR version, graph or graph outputs)")
    if default_opset(model) is None:
        raise BadFile(f"{label}: the model imports no version of the standard ONNX operators")


def default_opset(model: ModelProto) -> int | None:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def constants(model: ModelProto) -> dict[str, Const]:
    """Initializers (weights, shapes, axes) by name, as arrays."""
    found = {}
    for init in model.graph.initializer:
        try:
            found[init.name] = Const(numpy_helper.to_array(init), init.name)
        except (ValueError, TypeError, OSError) as exc:
            raise BadFile(f"initializer {init.name!r} cannot be read: {exc}") from None
    return found


def graph_inputs(
    model: ModelProto, label: str, overrides: Mapping[str, Sequence[int]] | None
) -> list[GraphInput]:
    """The real inputs with full example shapes: free sizes (``batch``) take the override or,
    for the first axis only, 1; any other free size asks for ``input_shapes``."""
    overrides = dict(overrides or {})
    skip = {init.name for init in model.graph.initializer}
    found = [_input(v, label, overrides.pop(v.name, None)) for v in model.graph.input]
    inputs = [f for f, v in zip(found, model.graph.input, strict=True) if v.name not in skip]
    if overrides:
        names = ", ".join(i.name for i in inputs) or "none"
        raise BadFile(f"{label}: no input named {next(iter(overrides))!r}; inputs: {names}")
    if not inputs:
        raise BadFile(f"{label}: the graph has no inputs; a design needs at least one")
    return inputs


def _dims(tensor) -> list:
    return list(tensor.shape.dim)


def _input(value, label: str, override: Sequence[int] | None) -> GraphInput:
    tensor = value.type.tensor_type
    if not value.type.HasField("tensor_type"):
        raise BadFile(f"{label}: input {value.name!r} is not a tensor", status=1)
    dtype = INPUT_DTYPES.get(tensor.elem_type)
    if dtype is None:
        kind = TensorProto.DataType.Name(tensor.elem_type).lower()
        raise BadFile(
            f"{label}: input {value.name!r} is {kind}; inputs are float32, int64 (token ids) "
            "or bool (masks)",
            status=1,
        )
    dims = [d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in _dims(tensor)]
    if override is not None:
        if len(override) != len(dims):
            raise BadFile(
                f"{label}: input {value.name!r} has {len(dims)} dimensions, the given shape "
                f"{tuple(override)} has {len(override)}"
            )
        dims = list(override)
    if dims and isinstance(dims[0], str):
        dims[0] = 1
    free = [(i, d) for i, d in enumerate(dims) if isinstance(d, str)]
    if free or len(dims) < 2:
        what = f"size {free[0][0]} ({free[0][1]!r}) is free" if free else "it has no batch axis"
        raise BadFile(
            f"{label}: input {value.name!r}: {what}; give the example shape with input_shapes "
            f"(--input-shape {value.name}=N,C,H,W)"
        )
    return GraphInput(value.name, tuple(int(d) for d in dims), dtype)
