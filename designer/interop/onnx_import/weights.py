"""The imported weights under the live model's keys.

As in the torch importer, the plan names each node's module (a node inside a composite instance
or a copy of a repeated node too, see :func:`designer.interop.importer.weights.module_name`);
every block that took weights from the file (its :class:`Op` carries the flat block's id as
``layer``) gives them to that module."""

from __future__ import annotations

import numpy as np
import torch

from designer.core.graph import Design
from designer.interop.importer.ir import Body
from designer.interop.importer.weights import WeightsMismatch, layer_paths, module_name
from designer.interop.onnx_import.context import Made
from designer.live.model import build
from designer.live.plan import make_plan


def _tensor(array: np.ndarray) -> torch.Tensor:
    if np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32, copy=False)
    return torch.from_numpy(np.array(array, copy=True))


def live_state(design: Design, root: Body, ops: list[Made]) -> dict[str, torch.Tensor]:
    """Every weight of the file's blocks, keyed as ``designer.build(design).state_dict()``."""
    plan = make_plan(design)
    with torch.device("meta"):
        live_keys = set(build(design, device="meta").state_dict())
    by_id = {op.id: op for op in ops}
    state: dict[str, torch.Tensor] = {}
    for path, op in layer_paths(root):
        name = module_name(plan, path)
        for leaf, array in by_id[op.layer].weights.items():
            state[f"{name}.{leaf}"] = _tensor(array)
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
