"""The design's boundary: Input (a tensor fed in) and Output (a tensor returned).

An Input declares the size of one sample (``shape``) and the element type (``dtype``); the batch
``N`` comes first. A name in place of a number is a size that varies (``T, 512``: sequences of any
length T), and ``N`` among the sizes puts the batch there instead (``T, N, 512``: sequence-first).
So ``[3, 572, 572]`` is an ``N×3×572×572`` float32 image batch, and ``["T"]`` with dtype int64 is
an ``N×T`` batch of token ids.
"""

from __future__ import annotations

from designer.core.params import Choice, Param
from designer.core.registry import BlockSpec, register
from designer.core.tensor import BATCH, TensorSpec

INPUT_DTYPES = ("float32", "int64", "bool")  # features and images, token ids, masks


def input_spec(params, specs) -> TensorSpec:
    """The tensor an Input feeds: its sizes (symbols included), the batch placed, its dtype."""
    sizes = params["shape"]
    dims = sizes if BATCH in sizes else (BATCH, *sizes)
    return TensorSpec.of(dims, params.get("dtype", "float32"))


def output_spec(params, specs) -> TensorSpec:
    """An Output returns what is wired in, whatever its dtype."""
    return specs[0]


register(
    BlockSpec(
        name="Input",
        category="Input/Output",
        doc="A model input: the size of one sample (e.g. 3, 572, 572); the batch N comes first. "
        "A name (T) is a size that varies; N among the sizes puts the batch there.",
        params=(
            Param(
                "shape",
                "shape",
                (3, 224, 224),
                "Size of one sample: channels, then spatial; names for sizes that vary.",
            ),
            Choice(
                "dtype",
                "float32",
                "Element type: float32 for features, int64 for token ids, bool for masks.",
                INPUT_DTYPES,
            ),
        ),
        inputs=(),
        tensor_rule=input_spec,
    )
)
register(
    BlockSpec(
        name="Output",
        category="Input/Output",
        doc="A model output; its label names the returned tensor.",
        inputs=("in",),
        outputs=(),
        tensor_rule=output_spec,
    )
)
