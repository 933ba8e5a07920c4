"""The design's boundary: Input (a tensor fed in, batch dimension symbolic) and Output."""

from __future__ import annotations

from designer.core.params import Param
from designer.core.registry import BlockSpec, register

register(
    BlockSpec(
        name="Input",
        category="Input/Output",
        doc="A model input: its shape without the batch dimension (e.g. 3, 572, 572).",
        params=(
            Param("shape", "shape", (3, 224, 224), "Size of one sample: channels, then spatial."),
        ),
        inputs=(),
        shape=lambda p, shapes: (None, *p["shape"]),
    )
)
register(
    BlockSpec(
        name="Output",
        category="Input/Output",
        doc="A model output; its label names the returned tensor.",
        inputs=("in",),
        outputs=(),
        shape=lambda p, shapes: shapes[0],
    )
)
