"""Weights beyond protobuf's 2 GiB limit: ONNX external data, in a side file next to the model.

When the initializers of an exported model take more than :data:`EXTERNAL_LIMIT` bytes, every
tensor of at least :data:`SMALLEST` bytes moves into one buffer (each at an offset aligned to
:data:`ALIGN`), and the model refers to it by the side file's name (``model.onnx.data``, relative,
so the two files move together). Nothing is written here: the buffer is verified in memory (the
checker on the graph's structure, onnxruntime on the data) and then written atomically like any
other file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from designer.core.memory import ONNX_LIMIT, human_bytes
from designer.interop.result import ExportError

EXTERNAL_LIMIT = ONNX_LIMIT  # initializer bytes above which the weights go to the side file
SMALLEST = 1024  # tensors smaller than this stay inside the model file
ALIGN = 4096  # offsets in the side file (lets a reader map each tensor straight from the file)


def data_path(target: Path) -> Path:
    """The side file of ``model.onnx``: ``model.onnx.data`` in the same folder."""
    return target.with_name(target.name + ".data")


def note(target: Path, size: int) -> str:
    """What the user must know about the side file."""
    return (
        f"the weights take {human_bytes(size)}, over protobuf's 2 GiB limit: they are in "
        f"{data_path(target).name} (ONNX external data), which must stay next to {target.name}"
    )


def check_side_file_target(target: Path) -> None:
    """A side file goes next to a regular file, not next to a device such as /dev/null."""
    try:
        info = os.stat(target)
    except OSError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise ExportError(
            f"the weights are over protobuf's 2 GiB limit and go to a side file next to the "
            f"model: give a file path for it, not {str(target)!r}",
            2,
        )


def initializer_bytes(proto: Any) -> int:
    """The bytes the model's initializers hold inline."""
    return sum(len(t.raw_data) for t in proto.graph.initializer)


def needs_external(proto: Any) -> bool:
    """True when the weights are too large for one protobuf message (2 GiB)."""
    return initializer_bytes(proto) > EXTERNAL_LIMIT


def externalize(proto: Any, location: str) -> bytearray:
    """Move the large initializers' bytes out of ``proto`` into the side file's contents."""
    from onnx import TensorProto
    from onnx.external_data_helper import set_external_data

    data = bytearray()
    for tensor in proto.graph.initializer:
        size = len(tensor.raw_data)
        if size < SMALLEST:
            continue
        offset = (len(data) + ALIGN - 1) // ALIGN * ALIGN
        data.extend(bytes(offset - len(data)))
        data.extend(tensor.raw_data)
        set_external_data(tensor, location, offset, size)
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
    return data


def structure_of(payload: bytes) -> Any:
    """A serialized model with external data, as ``onnx.checker`` can check it from memory: each
    external initializer becomes a graph input of the same type and shape (the checker would
    look for the side file on disk; onnxruntime checks the data itself)."""
    import onnx
    from onnx import TensorProto, helper

    copy = onnx.load_model_from_string(payload)
    graph = copy.graph
    kept = [t for t in graph.initializer if t.data_location != TensorProto.EXTERNAL]
    for tensor in graph.initializer:
        if tensor.data_location == TensorProto.EXTERNAL:
            graph.input.append(
                helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims))
            )
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return copy
