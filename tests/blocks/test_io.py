"""The design's boundary (designer/blocks/io.py) against torch: an Input's declared sample shape,
valid or not, is the tensor torch makes of it behind a batch; an Output passes its input on."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from designer.core.params import ParamError
from designer.core.shapes import ShapeError

from .torch_check import (
    ACCEPT,
    BATCH,
    DELIBERATE,
    REJECT,
    Case,
    any_shape,
    assert_family_covered,
    check,
    run_family,
)

SIZES = st.lists(st.integers(1, 6), min_size=1, max_size=5)
ODD = st.one_of(
    st.lists(st.integers(-2, 6), min_size=0, max_size=7),  # empty, negative, zero, too long
    st.lists(st.sampled_from([2.0, 2.5, True, "3", None]), min_size=1, max_size=3),
    st.sampled_from([3, "3x224x224", None, {"c": 3}]),
)


@st.composite
def input_case(draw) -> Case:
    """An Input with a sample shape of 1 to 5 sizes, or (a third of the time) something odd."""
    shape = draw(st.one_of(SIZES, SIZES, ODD))
    return Case("Input", {"shape": shape}, (), draw(BATCH))


@st.composite
def output_case(draw) -> Case:
    return Case("Output", {}, (draw(any_shape(range(1, 7), st.integers(1, 5))),), draw(BATCH))


CASES = {"Input": input_case(), "Output": output_case()}


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """Sample shapes torch can allocate that we refuse on purpose: no sizes at all (the batch
    alone), sizes of 0 (an empty tensor), more than 5 sizes (6-D with the batch is the most any
    block here takes), True for 1."""
    shape = case.params["shape"]
    return isinstance(shape, list) and (
        not 1 <= len(shape) <= 5 or 0 in shape or any(isinstance(d, bool) for d in shape)
    )


def test_io_rules_match_torch() -> None:
    tally = run_family(CASES, examples=500, deliberate=deliberate)
    assert_family_covered("io", CASES, tally)


REGRESSIONS = [
    (Case("Input", {"shape": [3, 8, 8]}), ACCEPT),
    (Case("Input", {"shape": [3, -1]}), REJECT),
    (Case("Input", {"shape": [3, 0]}), DELIBERATE),
    (Case("Input", {"shape": []}), DELIBERATE),  # the batch alone: nothing to feed a block
    (Case("Input", {"shape": [2.5]}), REJECT),
    (Case("Output", {}, ((None, 2, 5),)), ACCEPT),
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_io_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome
