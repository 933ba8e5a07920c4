"""Activations (designer/blocks/activation.py) against torch: the element-wise ones on inputs of
every rank, and Softmax/LogSoftmax with dims in and out of range, negative ones included."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from .torch_check import (
    ACCEPT,
    BATCH,
    REJECT,
    Case,
    any_shape,
    assert_family_covered,
    check,
    run_family,
)

SHAPE = any_shape(range(1, 7), st.integers(1, 4))  # the batch alone up to 5 more dimensions

PARAMS = {
    "ReLU": {},
    "ReLU6": {},
    "LeakyReLU": {"negative_slope": st.floats(0.0, 10.0)},
    "ELU": {"alpha": st.floats(0.0, 100.0)},
    "GELU": {"approximate": st.sampled_from(["none", "tanh"])},
    "SiLU": {},
    "Mish": {},
    "Hardswish": {},
    "Sigmoid": {},
    "Tanh": {},
    "Softmax": {"dim": st.integers(-7, 6)},
    "LogSoftmax": {"dim": st.integers(-7, 6)},
}


@st.composite
def activation_case(draw, block: str) -> Case:
    """One activation, each of its parameters given or left at the default."""
    params = draw(st.fixed_dictionaries({}, optional=PARAMS[block]))
    return Case(block, params, (draw(SHAPE),), draw(BATCH))


CASES = {name: activation_case(name) for name in PARAMS}


def test_activation_rules_match_torch() -> None:
    tally = run_family(CASES, examples=500)
    assert_family_covered("activation", CASES, tally)


REGRESSIONS = [
    (Case("Softmax", {"dim": -3}, ((None, 4, 5),)), ACCEPT),  # the batch dimension
    (Case("Softmax", {"dim": 1}, ((None,),)), REJECT),
    (Case("LogSoftmax", {"dim": -4}, ((None, 4, 5),)), REJECT),
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_activation_regressions(case: Case, outcome: str) -> None:
    assert check(case) == outcome
