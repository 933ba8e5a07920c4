"""Recurrent layers: the module scope of an ``LSTM``, ``GRU`` or ``RNN`` -> one block of that type.

torch's exporter writes one ONNX ``LSTM``/``GRU``/``RNN`` node per layer, in time-major layout,
between ``Transpose`` and ``Reshape`` nodes, with weights reordered into ONNX's gate order (LSTM
i, o, f, c where torch has i, f, g, o; GRU z, r, h where torch has r, z, n) and both biases in
one ``B``. The nodes give the block's parameters and torch's weights; running the region
against the torch layer checks them (direction, batch-first layout, which output is read).
"""

from __future__ import annotations

import numpy as np
import torch

from designer.interop.onnx_import.context import Context, Node
from designer.interop.onnx_import.regions import (
    Region,
    close,
    layer_region,
    one_input,
    one_output,
    run_region,
)
from designer.interop.onnx_import.values import Value
from designer.live.layers.recurrent import GRU, LSTM, RNN

# torch's gate blocks, as indices of ONNX's
GATE_ORDER = {"LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2), "RNN": (0,)}
LAYERS = {"LSTM": LSTM, "GRU": GRU, "RNN": RNN}
_ACTIVATIONS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh")}


def _gates(array: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """Rows grouped by gate, put in torch's gate order."""
    blocks = np.split(array, len(order), axis=0)
    return np.ascontiguousarray(np.concatenate([blocks[i] for i in order]), dtype=np.float32)


def _attributes(region: Region, node: Node, op: str) -> tuple[int, str, dict]:
    attrs = node.attrs
    if attrs.get("clip") is not None or attrs.get("layout", 0) or attrs.get("input_forget", 0):
        raise region.refuse(f"{node.label} clips, is batch-major or couples gates; torch has none")
    acts = tuple(attrs.get("activations", ()))
    extra = {}
    if op == "RNN":
        kinds = {a.lower() for a in acts} or {"tanh"}
        if len(kinds) != 1 or not kinds <= {"tanh", "relu"}:
            raise region.refuse(f"{node.label} uses the activations {acts}")
        extra["nonlinearity"] = kinds.pop()
    elif acts and acts[: len(_ACTIVATIONS[op])] != _ACTIVATIONS[op]:
        raise region.refuse(f"{node.label} uses the activations {acts}; torch's are fixed")
    if op == "GRU" and not attrs.get("linear_before_reset", 0):
        raise region.refuse(f"{node.label} resets before the linear map; torch's GRU after")
    return int(attrs["hidden_size"]), attrs.get("direction", "forward"), extra


def _states_absent(region: Region, proto) -> bool:
    """No sequence lengths, initial states absent or zero, no peepholes."""
    for i, name in enumerate(proto.input[4:], start=4):
        if not name:
            continue
        value = region.const(name)
        if i == 4 or i == 7 or value is None or value.any():
            return False
    return True


def _layer_weights(region: Region, proto, op: str, layer: int, directions: int) -> dict:
    order = GATE_ORDER[op]
    w, r = region.const(proto.input[1]), region.const(proto.input[2])
    b = region.const(proto.input[3]) if len(proto.input) > 3 and proto.input[3] else None
    if w is None or r is None:
        raise region.refuse(f"the weights of layer {layer} are computed at run time")
    weights = {}
    for d in range(directions):
        suffix = f"_l{layer}" + ("_reverse" if d else "")
        weights[f"weight_ih{suffix}"] = _gates(w[d], order)
        weights[f"weight_hh{suffix}"] = _gates(r[d], order)
        if b is not None:
            half = b.shape[-1] // 2
            weights[f"bias_ih{suffix}"] = _gates(b[d][:half], order)
            weights[f"bias_hh{suffix}"] = _gates(b[d][half:], order)
    return weights


def _parameters(region: Region, op: str, nodes: list) -> tuple[dict, dict]:
    hidden, direction, extra = _attributes(region, Node(nodes[0], region.opset, [], 0), op)
    weights: dict[str, np.ndarray] = {}
    for layer, proto in enumerate(nodes):
        node = Node(proto, region.opset, [], region.indices[region.nodes.index(proto)])
        if _attributes(region, node, op) != (hidden, direction, extra):
            raise region.refuse("its layers differ in size, direction or activation")
        if not _states_absent(region, proto):
            raise region.refuse(f"{node.label} takes sequence lengths, states or peepholes")
        if direction == "reverse":
            raise region.refuse("it runs backwards only; torch runs forwards (and backwards)")
        weights.update(_layer_weights(region, proto, op, layer, 2 if direction != "forward" else 1))
    params = {
        "hidden_size": hidden,
        "num_layers": len(nodes),
        "bidirectional": direction == "bidirectional",
        "bias": any(k.startswith("bias") for k in weights),
        **extra,
    }
    return params, weights


def _torch_output(op: str, params: dict, weights: dict, sample: np.ndarray) -> np.ndarray:
    extra = {"nonlinearity": params["nonlinearity"]} if op == "RNN" else {}
    layer = LAYERS[op](
        sample.shape[-1],
        params["hidden_size"],
        num_layers=params["num_layers"],
        bias=params["bias"],
        batch_first=True,
        bidirectional=params["bidirectional"],
        **extra,
    )
    state = {k: torch.from_numpy(v) for k, v in weights.items()}
    layer.load_state_dict(state, strict=True)
    with torch.no_grad():
        return layer.eval()(torch.from_numpy(sample))[0].numpy()


@layer_region("recurrent layer", ("weight_hh_l0",), ("LSTM", "GRU", "RNN"), tuple(GATE_ORDER))
def recurrent(region: Region, ctx: Context) -> dict[str, Value]:
    name, x = one_input(region)
    made = one_output(region)
    ops = {n.op_type for n in region.nodes} & set(GATE_ORDER)
    if len(ops) != 1:
        raise region.refuse(
            "it holds no ONNX LSTM, GRU or RNN node, or several kinds (an exporter that unrolls "
            "the steps into MatMul nodes gives nothing a recurrent block reads weights from)"
        )
    (op,) = ops
    params, weights = _parameters(region, op, region.of_type(op))
    if x.rank != 3 or x.shape[0] is not None:
        raise region.refuse(f"its input is {x.shape}; a batch-first N×T×F sequence converts")
    sample = region.sample(0)[name]
    (want,) = run_region(region, {name: sample})
    if not close(_torch_output(op, params, weights, sample), want):
        raise region.refuse(
            "torch's batch-first layer with its weights does not compute what its nodes compute "
            "(only the output sequence, batch first, converts; not the final states)"
        )
    return {made: ctx.emit(op, params, [x], region.node(), weights, region.path)}
