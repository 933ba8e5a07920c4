"""The module's weights under the live model's keys.

The live model and the generated code name their attributes after the design (``inc.double_conv.0``
where the seed had ``inc.double_conv.0``, but ``down1.pool_conv.1...`` where it had
``down1.maxpool_conv.1...``). Rather than re-derive that naming, the design is built once on the
meta device (no memory, no arithmetic) and run on empty tensors with ``forward_capture``, which
names each node's output by its design path (``down1/maxpool_conv_1/double_conv_0``); a recording
stand-in forward on every live layer says which layer made that output. Each imported layer's
tensors then move to that layer's name.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator

import torch
from torch import nn

from designer.core.graph import Design
from designer.interop.importer.ir import Body
from designer.interop.importer.values import stand_in
from designer.live.model import build


class WeightsMismatch(RuntimeError):
    """The mapped weights do not cover the live model's keys exactly (a bug of the importer)."""


def layer_paths(body: Body, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(design path, module path) of every imported layer, composites recursed into."""
    for op in body.ops:
        if op.child is not None:
            yield from layer_paths(op.child, f"{prefix}{op.id}/")
        elif op.layer is not None:
            yield prefix + op.id, op.layer


def _owns_state(module: nn.Module) -> bool:
    return bool(module._parameters or module._buffers)


def _resized(module: nn.Upsample):
    """A shape-only Upsample: torch's meta kernel for nearest upsampling fails on empty batches."""

    def run(x: torch.Tensor) -> torch.Tensor:
        n = x.dim() - 2
        if module.size is not None:
            size = (module.size,) * n if isinstance(module.size, int) else tuple(module.size)
        else:
            scale = module.scale_factor
            scales = scale if isinstance(scale, tuple) else (scale,) * n
            size = tuple(math.floor(d * s) for d, s in zip(x.shape[2:], scales, strict=True))
        return torch.empty((*x.shape[:2], *size), dtype=x.dtype)

    return run


def _recording(forward, name: str, made: dict, kept: list):
    def run(*args, **kwargs):
        output = forward(*args, **kwargs)
        made[id(output)] = name
        kept.append(output)  # outputs stay alive, so their ids stay unique
        return output

    return run


def live_layer_names(design: Design) -> tuple[dict[str, str], set[str]]:
    """Design path -> live module name for every node that holds weights, and the live keys."""
    with torch.device("meta"):
        live = build(design, device="meta")
    made: dict[int, str] = {}
    kept: list[torch.Tensor] = []
    for name, module in live.named_modules():  # instance attributes: this meta model only
        forward = _resized(module) if isinstance(module, nn.Upsample) else stand_in(module)
        if _owns_state(module):
            module.forward = _recording(forward, name, made, kept)
        elif not module._modules:
            module.forward = forward
    empty = [torch.empty((0, *x.shape[1:]), dtype=x.dtype) for x in live.example_inputs()]
    _, captured = live.forward_capture(*empty)
    names = {path: made[id(v)] for path, v in captured.items() if id(v) in made}
    return names, set(live.state_dict().keys())


def _by_layer(state: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    grouped: dict[str, dict[str, torch.Tensor]] = defaultdict(dict)
    for key, tensor in state.items():
        owner, _, leaf = key.rpartition(".")
        grouped[owner][leaf] = tensor
    return grouped


def remap_weights(module: nn.Module, root: Body, design: Design) -> tuple[dict, list[str]]:
    """The module's state dict under the live keys, and the module keys the design drops
    (weights of layers the forward never used)."""
    names, live_keys = live_layer_names(design)
    original = module.state_dict()
    grouped = _by_layer(original)
    mapped: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for design_path, layer in layer_paths(root):
        tensors = grouped.get(layer, {})
        if tensors and design_path not in names:
            raise WeightsMismatch(f"the live model has no layer for {design_path} ({layer})")
        for leaf, tensor in tensors.items():
            mapped[f"{names[design_path]}.{leaf}"] = tensor
            used.add(f"{layer}.{leaf}" if layer else leaf)
    if set(mapped) != live_keys:
        missing = sorted(live_keys - set(mapped))[:5]
        extra = sorted(set(mapped) - live_keys)[:5]
        raise WeightsMismatch(f"weights do not line up: missing {missing}, unexpected {extra}")
    return mapped, sorted(set(original) - used)
