"""Recurrent layers: LSTM, GRU and RNN over a batched sequence (input_size is inferred).

Each block takes ``input`` (N×T×F with ``batch_first``, the default; else T×N×F) and optional
initial states ``h0`` (and ``c0`` for the LSTM), and returns ``out``, the top layer's output at
every step (N×T×D·H, D = 2 when bidirectional), and the final states ``h`` (and ``c``), shaped
L·D × N × H: the batch sits at dimension 1 there, whatever ``batch_first`` says.

Multiply-accumulates per sample: every weight once per step, so the sequence length T (counted
as 1, per step, when T varies) times the sum over layers and directions of ``G·H·(I + P) + P·H``:
G gates (LSTM 4, GRU 3, RNN 1), H hidden units, I the layer's input width (F for the first layer,
D·P above), P the recurrent width (proj_size, else H); the last term is the LSTM's projection,
when proj_size is set. Gate products and activations are element-wise: free, as elsewhere.
"""

from __future__ import annotations

from designer.core.forms import TorchModule, keywords
from designer.core.params import MAX_SIZE, Bool, Choice, Float, Int
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError
from designer.core.tensor import ANONYMOUS, BATCH, FLOATING, INTEGER, TensorSpec, format_spec

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
PORTS = ("input", "h0", "c0")


def _directions(p) -> int:
    return 2 if p["bidirectional"] else 1


def _width(p) -> int:
    """The width of h and of the output per direction: proj_size when set, else hidden_size."""
    return p.get("proj_size") or p["hidden_size"]


def _check_params(block: str, p) -> None:
    if p["dropout"] and p["num_layers"] == 1:
        raise ShapeError(
            f"{block} applies dropout between layers, and with num_layers=1 there are none "
            "(torch warns and ignores it)",
            "set dropout to 0, or num_layers to 2 or more",
            None,
            "param",
        )
    if p.get("proj_size", 0) >= p["hidden_size"]:
        raise ShapeError(
            f"proj_size={p['proj_size']} must be smaller than hidden_size={p['hidden_size']}",
            f"set proj_size below {p['hidden_size']} (0 for no projection)",
            None,
            "param",
        )


def _check_input(block: str, p, spec: TensorSpec) -> None:
    if spec.rank != 3:
        layout = "N×T×F" if p["batch_first"] else "T×N×F"
        raise ShapeError(
            f"{block} takes a batched {layout} sequence, got {spec.rank}-D {format_spec(spec)}",
            "a 2-D input holds one vector per sample: give the Input a [T, F] shape (T steps "
            "of F features; the batch N comes first)"
            if spec.rank == 2
            else "reshape it into a sequence of feature vectors first",
            0,
            "rank",
        )
    if spec.shape[-1] is None:
        raise ShapeError(
            f"{block} needs a fixed feature size (input_size) in the last dimension of "
            f"{format_spec(spec)}",
            "fix the feature size in the Input's shape",
            0,
            "symbolic",
        )
    time = 1 if p["batch_first"] else 0
    if spec.symbol(time) == BATCH:
        raise ShapeError(
            f"{block} reads dimension {time} of {format_spec(spec)} as the time steps, but the "
            "batch N is there: the recurrence would run across samples",
            f"set batch_first to {not p['batch_first']}, or move N in the Input's shape",
            0,
            "mismatch",
        )


def _check_dtype(block: str, spec: TensorSpec) -> None:
    if spec.dtype not in FLOATING:
        raise ShapeError(
            f"{block} takes a floating-point sequence, the input is {spec.dtype} "
            f"({format_spec(spec)})",
            "wire token ids through an Embedding first (it turns each id into a float vector)"
            if spec.dtype in INTEGER
            else "convert the input to float32 first",
            0,
            "dtype",
        )


def _check_state(block: str, spec, want: tuple, port: int) -> None:
    """An initial state against the dims it must have (the batch's symbol, or its size)."""
    name = PORTS[port]
    expected = "×".join(str(d) for d in want)
    if spec.rank != 3:
        raise ShapeError(
            f"{block}'s {name} must be 3-D ({expected}), got {format_spec(spec)}",
            _state_hint(want),
            port,
            "rank",
        )
    for axis, (have, size) in enumerate(zip(spec.dims, want, strict=True)):
        if not _same_dim(have, size):
            raise ShapeError(
                f"{block}'s {name} is {format_spec(spec)}, it must be {expected} "
                f"(dimension {axis} differs)",
                _state_hint(want),
                port,
                "mismatch",
            )


def _state_hint(want: tuple) -> str:
    layers, _, width = want
    return (
        f"wire a layers·directions × batch × width tensor (an Input of shape "
        f"[{layers}, N, {width}] puts the batch at dimension 1)"
    )


def _same_dim(have, want) -> bool:
    """Two dims agree: equal sizes, or symbols that may stand for the same size."""
    if isinstance(have, int) or isinstance(want, int):
        return have == want
    return have == want or ANONYMOUS in (have, want)


def recurrent_rule(block: str):
    """The tensor rule of one recurrent block: outputs out, h (and c for the LSTM)."""

    def rule(p, specs):
        _check_dtype(block, specs[0])
        _check_params(block, p)
        spec = specs[0]
        _check_input(block, p, spec)
        batch = spec.dims[0 if p["batch_first"] else 1]
        layers, hidden = p["num_layers"] * _directions(p), p["hidden_size"]
        widths = (_width(p), hidden) if block == "LSTM" else (hidden,)
        states = [TensorSpec.of((layers, batch, w), spec.dtype) for w in widths]
        for port, (given, want) in enumerate(zip(specs[1:], states, strict=False), start=1):
            if given is None:
                continue
            if given.dtype != spec.dtype:
                raise ShapeError(
                    f"{block}'s {PORTS[port]} is {given.dtype}, the input is {spec.dtype}",
                    f"give {PORTS[port]} the input's dtype ({spec.dtype})",
                    port,
                    "dtype",
                )
            _check_state(block, given, want.dims, port)
        out = spec.with_shape((*spec.shape[:2], _directions(p) * _width(p)))
        return [out, *states]

    return rule


def recurrent_count(block: str):
    """torch's parameter count: the weights, and two bias vectors per layer and direction."""

    def count(p, shapes) -> int:
        biases = 2 * GATES[block] * p["hidden_size"] * p["num_layers"] if p["bias"] else 0
        return _directions(p) * (sum(_weights(block, p, shapes[0][-1])) + biases)

    return count


def recurrent_macs(block: str):
    """Multiply-accumulates per sample: each weight once per step and direction."""

    def macs(p, ins, outs) -> int:
        steps = ins[0][1 if p["batch_first"] else 0] or 1
        return steps * _directions(p) * sum(_weights(block, p, ins[0][-1]))

    return macs


def _weights(block: str, p, features: int) -> list[int]:
    """The weights of one direction of each layer: G·H·(I + P), plus P·H with a projection."""
    gates, hidden, width = GATES[block], p["hidden_size"], _width(p)
    projection = width * hidden if p.get("proj_size") else 0
    inputs = [features] + [_directions(p) * width] * (p["num_layers"] - 1)
    return [gates * hidden * (i + width) + projection for i in inputs]


def _projection_onnx(p, shapes):
    """ONNX's LSTM operator has no projection, yet torch's exporter writes one (an invalid
    model that onnx.checker refuses)."""
    if p["proj_size"]:
        return (
            "ONNX's LSTM has no projection (proj_size), and torch's exporter writes an invalid "
            "model for it",
            "set proj_size to 0 and add a Linear on the output to export",
        )
    return None


TORCH_DEFAULTS = {
    "num_layers": 1,
    "bias": True,
    "batch_first": False,
    "dropout": 0.0,
    "bidirectional": False,
}
EXTRA_DEFAULTS = {"LSTM": {"proj_size": 0}, "GRU": {}, "RNN": {"nonlinearity": "tanh"}}


def recurrent_args(block: str):
    defaults = {**TORCH_DEFAULTS, **EXTRA_DEFAULTS[block]}
    return lambda p, s: ((s[0][-1], p["hidden_size"]), keywords(p, defaults))


COMMON = (
    Int("hidden_size", 64, "Features of the hidden state h.", min=1, max=MAX_SIZE),
    Int("num_layers", 1, "Stacked recurrent layers.", min=1, max=64),
    Bool("bias", True, "Learn biases b_ih and b_hh."),
    Bool("batch_first", True, "The input is N×T×F (else T×N×F); h stays L·D×N×H either way."),
    Float("dropout", 0.0, "Dropout between stacked layers while training.", min=0.0, max=1.0),
    Bool("bidirectional", False, "Also run backwards; the output doubles in width."),
)
EXTRA = {
    "LSTM": (
        Int("proj_size", 0, "Project h to this width (0: no projection).", min=0, max=MAX_SIZE),
    ),
    "GRU": (),
    "RNN": (
        Choice("nonlinearity", "tanh", "The activation of the hidden state.", ("tanh", "relu")),
    ),
}
DOCS = {
    "LSTM": "Long short-term memory over a sequence: out, final h and c (input_size is inferred).",
    "GRU": "Gated recurrent unit over a sequence: out and final h (input_size is inferred).",
    "RNN": "Elman recurrent layer (tanh or relu) over a sequence: out and final h.",
}

for _block in ("LSTM", "GRU", "RNN"):
    _lstm = _block == "LSTM"
    register(
        BlockSpec(
            name=_block,
            category="Recurrent",
            doc=DOCS[_block],
            params=COMMON + EXTRA[_block],
            inputs=PORTS if _lstm else PORTS[:2],
            optional_inputs=PORTS[1:] if _lstm else PORTS[1:2],
            outputs=("out", "h", "c") if _lstm else ("out", "h"),
            tensor_rule=recurrent_rule(_block),
            count=recurrent_count(_block),
            macs=recurrent_macs(_block),
            torch=TorchModule(_block, recurrent_args(_block), layer=True),
            onnx=_projection_onnx if _lstm else None,
        )
    )
