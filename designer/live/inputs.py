"""Example inputs: random tensors of an Input's spec, its dtype honoured.

Floating inputs are standard normal. Integer inputs are token ids: uniform below the smallest
vocabulary (``num_embeddings``) among the blocks they feed, so that an Embedding never sees an id
out of range; boolean inputs are masks with random entries.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from designer.core.graph import Design
from designer.core.tensor import DTYPES

TOKEN_BOUND = 2  # ids drawn below this when no consumer names a vocabulary size
_DTYPES = {name: getattr(torch, name) for name in DTYPES}


def torch_dtype(dtype: str) -> torch.dtype:
    """The torch dtype of a spec's dtype name."""
    return _DTYPES[dtype]


def token_bound(design: Design, node_id: str) -> int:
    """Ids fed from ``node_id`` stay below this: the smallest ``num_embeddings`` it feeds."""
    found = [
        size
        for _, dst, _ in design.outputs_of(node_id)
        if isinstance(size := design.node(dst)["params"].get("num_embeddings"), int)
    ]
    return min(found, default=TOKEN_BOUND)


def example_tensor(
    shape: Sequence[int],
    dtype: str = "float32",
    *,
    high: int = TOKEN_BOUND,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """A random tensor of ``shape`` and ``dtype`` (see the module doc)."""
    shape = list(shape)
    if dtype == "bool":
        return torch.randint(0, 2, shape, generator=generator).bool().to(device)
    if dtype.startswith("int"):
        ids = torch.randint(0, max(1, high), shape, generator=generator)
        return ids.to(dtype=_DTYPES[dtype], device=device)
    values = torch.randn(shape, generator=generator)
    return values.to(dtype=_DTYPES[dtype], device=device)
