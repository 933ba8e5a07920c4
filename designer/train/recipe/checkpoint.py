"""Checkpoints: weights as ``.safetensors`` (written here, no extra package) and resume state.

A ``.safetensors`` file is an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw little-endian bytes. The resume state is a
``torch.save`` of tensors and plain containers only, so it loads with ``weights_only=True``.
"""

from __future__ import annotations

import io
import json
import struct
import sys

import torch

from designer.core.atomicfile import atomic_write  # recipe-local

DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
FROM_CODE = {code: dtype for dtype, code in DTYPES.items()}


def tensor_bytes(tensor: torch.Tensor) -> bytes:
    """The tensor's raw little-endian bytes, copied through ``torch.frombuffer`` (no numpy)."""
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    size = flat.numel() * flat.element_size()
    if size == 0:
        return b""
    buffer = bytearray(size)
    torch.frombuffer(buffer, dtype=torch.uint8).copy_(flat.view(torch.uint8))
    return bytes(buffer)


def safetensors_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None):
    """The bytes of a ``.safetensors`` file holding ``tensors`` (keys sorted, as the library)."""
    if sys.byteorder != "little":
        raise RuntimeError("writing .safetensors needs a little-endian machine")
    header: dict = {"__metadata__": dict(metadata)} if metadata else {}
    chunks, offset = [], 0
    for name in sorted(tensors):
        data = tensor_bytes(tensors[name])
        code = DTYPES[tensors[name].dtype]
        end = offset + len(data)
        header[name] = {
            "dtype": code,
            "shape": list(tensors[name].shape),
            "data_offsets": [offset, end],
        }
        chunks.append(data)
        offset = end
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the tensor data starts 8-byte aligned
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save_safetensors(path, tensors: dict[str, torch.Tensor], metadata=None) -> None:
    atomic_write(path, safetensors_bytes(tensors, metadata))


def load_safetensors(path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file, on the CPU."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + length])
    start = 8 + length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = FROM_CODE[info["dtype"]]
        raw = bytearray(blob[start + begin : start + end])
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"])
    return tensors


def save_state(path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, buffer.getvalue())


def load_state(path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def cpu_state(state_dict) -> dict[str, torch.Tensor]:
    """A state dict's tensors copied to the CPU (full tensors of a sharded model included)."""
    return {k: v.detach().to("cpu").clone() for k, v in state_dict.items()}
