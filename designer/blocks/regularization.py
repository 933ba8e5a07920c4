"""Regularisation: channel dropout (Dropout1d/2d/3d) and DropPath (stochastic depth).

Plain Dropout stays with the dense blocks (designer/blocks/linear.py)."""

from __future__ import annotations

from designer.core.forms import TorchModule, keywords
from designer.core.params import Float
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError, format_shape

_SPATIAL = {1: "L", 2: "H×W", 3: "D×H×W"}


def _channel_dropout_shape(n: int):
    """Dropout{n}d takes N×C and n spatial dimensions only: torch reads one dimension fewer as
    an unbatched sample (it would zero whole samples) and warns about the other ranks."""

    def rule(p, shapes):
        (shape,) = shapes
        if len(shape) != n + 2:
            raise ShapeError(
                f"Dropout{n}d zeroes whole channels of an N×C×{_SPATIAL[n]} input, "
                f"got {len(shape)}-D {format_shape(shape)}",
                f"feed it a {n + 2}-D input, pick the Dropout1d/2d/3d of the input's rank, "
                "or use Dropout",
                code="rank",
            )
        return shape

    return rule


def _same(p, shapes):
    return shapes[0]


for _n in (1, 2, 3):
    register(
        BlockSpec(
            name=f"Dropout{_n}d",
            category="Regularization",
            doc=f"Zero whole channels of an N×C×{_SPATIAL[_n]} input with probability p "
            "while training.",
            params=(Float("p", 0.5, "Probability of a channel to be zeroed.", min=0.0, max=1.0),),
            shape=_channel_dropout_shape(_n),
            torch=TorchModule(f"Dropout{_n}d", lambda p, s: ((), keywords(p, {"p": 0.5}))),
        )
    )

register(
    BlockSpec(
        name="DropPath",
        category="Regularization",
        doc="Stochastic depth: zero whole samples with probability p while training, "
        "scale the rest by 1/(1-p).",
        params=(Float("p", 0.1, "Probability of a sample to be zeroed.", min=0.0, max=1.0),),
        shape=_same,
        torch=TorchModule("DropPath", lambda p, s: ((), {"p": p["p"]}), layer=True),
    )
)
