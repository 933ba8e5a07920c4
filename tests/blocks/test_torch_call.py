"""The wrapper blocks (designer/blocks/torch_call.py) against torch: any torch.nn module or torch
function by name, with shapes from the meta device, on inputs of several ranks."""

from __future__ import annotations

from hypothesis import strategies as st

from .torch_check import BATCH, Case, any_shape, assert_family_covered, run_family

SHAPE = any_shape(range(2, 5), st.integers(1, 6))

MODULES = st.sampled_from(
    [
        ("torch.nn.GELU", {"approximate": "tanh"}),
        ("torch.nn.Hardtanh", {"min_val": -0.5, "max_val": 0.5}),
        ("torch.nn.PReLU", {}),
        ("torch.nn.Softmax", {"dim": 1}),
        ("torch.nn.Flatten", {"start_dim": 1}),
        ("torch.nn.Softmax", {"dim": 5}),  # past the rank: both sides refuse
    ]
)
FUNCTIONS = st.sampled_from(
    [
        ("torch.tanh", {}),
        ("torch.flip", {"dims": (1,)}),
        ("torch.nn.functional.gelu", {}),
        ("torch.cumsum", {"dim": 1}),
        ("torch.nn.functional.normalize", {"dim": 1}),
        ("torch.flip", {"dims": (6,)}),  # past the rank: both sides refuse
    ]
)

CLASSES = st.sampled_from(  # by import path, from modules already imported
    [
        ("torch.nn.modules.activation.GELU", {"approximate": "tanh"}),
        ("torch.nn.modules.activation.Softmax", {"dim": 1}),
        ("torch.nn.modules.flatten.Flatten", {"start_dim": 1}),
        ("torch.nn.modules.activation.Softmax", {"dim": 5}),  # past the rank: both sides refuse
    ]
)


@st.composite
def wrapped(draw, block: str, targets) -> Case:
    target, kwargs = draw(targets)
    return Case(block, {"target": target, "kwargs": kwargs}, (draw(SHAPE),), draw(BATCH))


CASES = {
    "TorchModule": wrapped("TorchModule", MODULES),
    "TorchFunction": wrapped("TorchFunction", FUNCTIONS),
    "PythonModule": wrapped("PythonModule", CLASSES),
}


def test_wrapper_rules_match_torch() -> None:
    tally = run_family(CASES)
    assert_family_covered("torch_call", CASES, tally)
