"""The imported weights under the live model's keys.

As in the torch importer, the design is built on the meta device and run on empty tensors with
``forward_capture``, every live layer's forward replaced by a stand-in that records which layer
made which node's output; every block that took weights from the file (its :class:`Op` carries
the flat block's id as ``layer``) gives them to that layer. ``Upsample`` gets a stand-in of its
own: torch's meta kernel for nearest resizing refuses an empty batch."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from designer.core.graph import Design
from designer.interop.importer.ir import Body
from designer.interop.importer.values import stand_in
from designer.interop.importer.weights import WeightsMismatch, layer_paths
from designer.interop.onnx_import.context import Made
from designer.live.model import build


def _resized(module: nn.Upsample):
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
    def run(*args):
        output = forward(*args)
        made[id(output)] = name
        kept.append(output)  # outputs stay alive, so that their ids stay unique
        return output

    return run


def live_layer_names(design: Design) -> tuple[dict[str, str], set[str]]:
    """Design path -> live module name for every node that holds weights, and the live keys."""
    with torch.device("meta"):
        live = build(design, device="meta")
    made: dict[int, str] = {}
    kept: list[torch.Tensor] = []
    for name, module in live.named_modules():
        forward = _resized(module) if isinstance(module, nn.Upsample) else stand_in(module)
        if module._parameters or module._buffers:
            module.forward = _recording(forward, name, made, kept)
        elif not module._modules:
            module.forward = forward
    empty = [torch.empty((0, *x.shape[1:]), dtype=x.dtype) for x in live.example_inputs()]
    _, captured = live.forward_capture(*empty)
    names = {path: made[id(v)] for path, v in captured.items() if id(v) in made}
    return names, set(live.state_dict().keys())


def _tensor(array: np.ndarray) -> torch.Tensor:
    if np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32, copy=False)
    return torch.from_numpy(np.array(array, copy=True))


def live_state(design: Design, root: Body, ops: list[Made]) -> dict[str, torch.Tensor]:
    """Every weight of the file's blocks, keyed as ``designer.build(design).state_dict()``."""
    names, live_keys = live_layer_names(design)
    by_id = {op.id: op for op in ops}
    state: dict[str, torch.Tensor] = {}
    for path, key in layer_paths(root):
        if path not in names:
            raise WeightsMismatch(f"the live model has no layer for {path}")
        for leaf, array in by_id[key].weights.items():
            state[f"{names[path]}.{leaf}"] = _tensor(array)
    if set(state) != live_keys:
        missing = sorted(live_keys - set(state))[:5]
        extra = sorted(set(state) - live_keys)[:5]
        raise WeightsMismatch(f"weights do not line up: missing {missing}, unexpected {extra}")
    return state


def parameter_count(ops: list[Made]) -> int:
    """Elements of the file's weights that are trained (running statistics left out)."""
    buffers = {"running_mean", "running_var", "num_batches_tracked"}
    return sum(
        int(array.size) for op in ops for leaf, array in op.weights.items() if leaf not in buffers
    )
