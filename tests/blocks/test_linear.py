"""Dense and utility blocks (designer/blocks/linear.py) against torch: Linear, Flatten, Identity,
Dropout."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

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

SIZE = st.integers(1, 5)
RANKS = (1, 2, 2, 3, 4, 5, 6)  # rank 1 is the batch alone: Linear must refuse it


@st.composite
def linear_case(draw) -> Case:
    params = draw(
        st.fixed_dictionaries({"out_features": st.integers(1, 8)}, optional={"bias": st.booleans()})
    )
    return Case("Linear", params, (draw(any_shape(RANKS, SIZE)),), draw(BATCH))


@st.composite
def flatten_case(draw) -> Case:
    """Flatten with start and end anywhere, negative, past the rank, or in the wrong order."""
    dims = st.integers(-7, 6)
    params = draw(st.fixed_dictionaries({}, optional={"start_dim": dims, "end_dim": dims}))
    return Case("Flatten", params, (draw(any_shape(RANKS, SIZE)),), draw(BATCH))


@st.composite
def passthrough_case(draw, block: str) -> Case:
    """Identity, and Dropout with p inside and (rarely) outside [0, 1]."""
    params = {}
    if block == "Dropout":
        p = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, -0.1, 1.5]))
        params = draw(st.fixed_dictionaries({}, optional={"p": p}))
    return Case(block, params, (draw(any_shape(RANKS, SIZE)),), draw(BATCH))


CASES = {
    "Linear": linear_case(),
    "Flatten": flatten_case(),
    "Identity": passthrough_case("Identity"),
    "Dropout": passthrough_case("Dropout"),
}


def deliberate(case, exc) -> bool:
    """Flatten from dim 0 merges the batch into the features: torch allows it, but a design keeps
    N symbolic and every sample separate (found by tests/test_reliability.py)."""
    return case.block == "Flatten" and "batch dimension" in exc.message


def test_linear_rules_match_torch() -> None:
    tally = run_family(CASES, examples=500, deliberate=deliberate)
    assert_family_covered("linear", CASES, tally)


REGRESSIONS = [
    (Case("Flatten", {"start_dim": 2, "end_dim": 1}, ((None, 3, 4),)), REJECT),
    (Case("Flatten", {"start_dim": 0}, ((None, 3, 4),)), DELIBERATE),  # would merge the batch
    (Case("Flatten", {"start_dim": -1, "end_dim": -1}, ((None,),)), ACCEPT),
    (Case("Dropout", {"p": 1.5}, ((None, 3),)), REJECT),
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_linear_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome
