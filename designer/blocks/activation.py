"""Element-wise activations (PReLU learns its slope) and the (log-)softmax over one dimension."""

from __future__ import annotations

from designer.core.forms import TorchModule, keywords
from designer.core.params import MAX_SIZE, Choice, Float, Int
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError, format_shape


def _same(p, shapes):
    return shapes[0]


def _softmax_shape(p, shapes):
    (shape,) = shapes
    rank = len(shape)
    if not -rank <= p["dim"] < rank:
        raise ShapeError(
            f"dim={p['dim']} is out of range for a {rank}-D input {format_shape(shape)}",
            f"choose dim between {-rank} and {rank - 1}",
            code="rank",
        )
    return shape


def _prelu_shape(p, shapes):
    (shape,) = shapes
    slopes = p["num_parameters"]
    if slopes != 1 and len(shape) > 1 and shape[1] is None:
        raise ShapeError(
            f"PReLU learns {slopes} slopes, one per channel, but the input's channel count "
            "(dimension 1) varies",
            "fix the channel count in the Input's shape, or set num_parameters to 1",
            code="symbolic",
        )
    if slopes != 1 and (len(shape) < 2 or shape[1] != slopes):
        channels = "no channel dimension" if len(shape) < 2 else f"{shape[1]} channels"
        raise ShapeError(
            f"PReLU learns {slopes} slopes, one per channel, but {format_shape(shape)} has "
            f"{channels}",
            "set num_parameters to 1 (one shared slope) or to the channel count (dimension 1)",
            code="channels",
        )
    return shape


def _activation(name: str, doc: str, *params, defaults: dict | None = None) -> None:
    defaults = defaults or {}
    register(
        BlockSpec(
            name=name,
            category="Activation",
            doc=doc,
            params=tuple(params),
            shape=_same,
            torch=TorchModule(name, lambda p, s: ((), keywords(p, defaults))),
        )
    )


_activation("ReLU", "max(0, x).")
_activation("ReLU6", "min(max(0, x), 6).")
_activation(
    "LeakyReLU",
    "x for x ≥ 0, negative_slope·x below.",
    Float("negative_slope", 0.01, "Slope for negative inputs.", min=0.0, max=10.0),
    defaults={"negative_slope": 0.01},
)
_activation(
    "ELU",
    "x for x > 0, alpha·(exp(x) − 1) below.",
    Float("alpha", 1.0, "Saturation value for negative inputs.", min=0.0, max=100.0),
    defaults={"alpha": 1.0},
)
_activation(
    "GELU",
    "Gaussian error linear unit.",
    Choice("approximate", "none", "Exact, or the tanh approximation.", ("none", "tanh")),
    defaults={"approximate": "none"},
)
_activation("SiLU", "x·sigmoid(x) (swish).")
_activation("Mish", "x·tanh(softplus(x)).")
_activation("Hardswish", "Piecewise-linear swish of MobileNetV3.")
_activation("Hardsigmoid", "Piecewise-linear sigmoid of MobileNetV3's squeeze-excitation.")
_activation(
    "Softplus",
    "log(1 + exp(beta·x)) / beta, x itself where beta·x > threshold.",
    Float("beta", 1.0, "Sharpness of the curve.", min=0.001, max=100.0),
    Float("threshold", 20.0, "Above beta·x = threshold the output is x.", min=0.0, max=1000.0),
    defaults={"beta": 1.0, "threshold": 20.0},
)
_activation("Sigmoid", "1 / (1 + exp(−x)).")
_activation("Tanh", "Hyperbolic tangent.")

for _name, _doc in (
    ("Softmax", "Softmax over one dimension."),
    ("LogSoftmax", "log(Softmax) over one dimension."),
):
    register(
        BlockSpec(
            name=_name,
            category="Activation",
            doc=_doc,
            params=(Int("dim", 1, "Dimension the probabilities sum to one over.", min=-6, max=5),),
            shape=_softmax_shape,
            torch=TorchModule(_name, lambda p, s: ((), {"dim": p["dim"]})),
        )
    )
register(
    BlockSpec(
        name="PReLU",
        category="Activation",
        doc="x for x ≥ 0, a learnt slope·x below: one slope, or one per channel.",
        params=(
            Int("num_parameters", 1, "Slopes: 1, or the channel count.", min=1, max=MAX_SIZE),
            Float("init", 0.25, "Initial slope.", min=-10.0, max=10.0),
        ),
        shape=_prelu_shape,
        count=lambda p, s: p["num_parameters"],
        torch=TorchModule(
            "PReLU", lambda p, s: ((), keywords(p, {"num_parameters": 1, "init": 0.25}))
        ),
    )
)
