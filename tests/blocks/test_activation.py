"""Activations (designer/blocks/activation.py) against torch: the element-wise ones on inputs of
every rank, PReLU with one slope or one per channel (or a wrong count), Softmax/LogSoftmax with
dims in and out of range, negative ones included; Softplus and PReLU end to end."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

import designer
from designer import DesignBuilder

from .end_to_end import end_to_end
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
    "Hardsigmoid": {},
    "Sigmoid": {},
    "Tanh": {},
    "Softplus": {"beta": st.floats(0.001, 100.0), "threshold": st.floats(0.0, 1000.0)},
    "Softmax": {"dim": st.integers(-7, 6)},
    "LogSoftmax": {"dim": st.integers(-7, 6)},
}


@st.composite
def activation_case(draw, block: str) -> Case:
    """One activation, each of its parameters given or left at the default."""
    params = draw(st.fixed_dictionaries({}, optional=PARAMS[block]))
    return Case(block, params, (draw(SHAPE),), draw(BATCH))


@st.composite
def prelu_case(draw) -> Case:
    """PReLU with one slope, one per channel, or a count that matches nothing (rarely)."""
    shape = draw(SHAPE)
    channels = shape[1] if len(shape) > 1 else 1
    slopes = draw(st.sampled_from([1, 1, channels, channels, channels + 1, 3]))
    params = draw(st.fixed_dictionaries({}, optional={"init": st.floats(-10.0, 10.0)}))
    return Case("PReLU", {"num_parameters": slopes, **params}, (shape,), draw(BATCH))


CASES = {name: activation_case(name) for name in PARAMS} | {"PReLU": prelu_case()}


def test_activation_rules_match_torch() -> None:
    tally = run_family(CASES, examples=500)
    assert_family_covered("activation", CASES, tally)


REGRESSIONS = [
    (Case("Softmax", {"dim": -3}, ((None, 4, 5),)), ACCEPT),  # the batch dimension
    (Case("Softmax", {"dim": 1}, ((None,),)), REJECT),
    (Case("LogSoftmax", {"dim": -4}, ((None, 4, 5),)), REJECT),
    (Case("PReLU", {"num_parameters": 4}, ((None, 4, 2),)), ACCEPT),
    (Case("PReLU", {"num_parameters": 2}, ((None, 4, 2),)), REJECT),  # slopes follow dim 1
    (Case("PReLU", {"num_parameters": 4}, ((None,),)), REJECT),
    (Case("PReLU", {}, ((None,),)), ACCEPT),
    (Case("Softplus", {"beta": 0.5, "threshold": 0.0}, ((None, 3),)), ACCEPT),
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_activation_regressions(case: Case, outcome: str) -> None:
    assert check(case) == outcome


@pytest.mark.parametrize(
    ("block", "sample", "params", "op"),
    [
        ("Softplus", (4, 5), {}, "Softplus"),
        ("Softplus", (6,), {"beta": 2.0, "threshold": 0.5}, "Softplus"),
        ("PReLU", (4, 3, 3), {"num_parameters": 4, "init": 0.1}, "PRelu"),
        ("PReLU", (5,), {}, "PRelu"),
    ],
)
def test_new_activations_end_to_end(tmp_path, block, sample, params, op) -> None:
    assert op in end_to_end(tmp_path, block, sample, **params).ops


def test_prelu_per_channel_needs_a_fixed_channel_count() -> None:
    b = DesignBuilder("varying")
    b.output(b.add("PReLU", b.input(("C", 5)), node_id="act", num_parameters=3))
    (issue,) = designer.validate(b.build()).errors
    assert (issue.node, issue.code) == ("act", "symbolic") and "num_parameters" in issue.hint
