"""Resizing (designer/blocks/resize.py) against torch: Upsample by size or by scale_factor (both,
or neither), in every mode, on inputs of the mode's rank and others."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from designer.core.params import ParamError
from designer.core.shapes import ShapeError

from .torch_check import (
    ACCEPT,
    BATCH,
    REJECT,
    Case,
    assert_family_covered,
    check,
    run_family,
    spatial_shape,
)

MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear")
FITTING = {
    3: ("nearest", "linear"),
    4: ("nearest", "bilinear", "bicubic"),
    5: ("nearest", "trilinear"),
}
SCALE = st.one_of(
    st.sampled_from([2.0, 0.25, 1 / 3, 0.5, 0.6, 1.0, 1.5, 2.5, 3.0, 0.0]),
    st.floats(0.05, 4.0),
)


def _size(n: int) -> st.SearchStrategy:
    """An output size: one for every axis, one per axis, or (rarely) a list of the wrong length."""
    one = st.integers(1, 7)
    return st.one_of(one, one, st.tuples(*[one] * max(n, 1)), st.tuples(*[one] * (n % 3 + 1)))


@st.composite
def upsample_case(draw) -> Case:
    """Upsample with scale_factor, size, both or neither, and align_corners in every mode."""
    rank = draw(st.sampled_from([3, 4, 5] * 4 + [2, 6]))
    shape = draw(spatial_shape(rank, draw(st.integers(1, 3)), st.integers(1, 4 if rank > 4 else 6)))
    given = draw(st.sampled_from(["scale"] * 4 + ["size"] * 4 + ["both", "neither"]))
    modes = FITTING.get(rank, MODES) if draw(st.integers(0, 3)) else MODES  # mostly fitting
    params = draw(
        st.fixed_dictionaries(
            {"mode": st.sampled_from(modes)}, optional={"align_corners": st.booleans()}
        )
    )
    if given in ("scale", "both"):
        params["scale_factor"] = draw(SCALE)
    else:
        params["scale_factor"] = None  # the default is 2.0: clear it
    if given in ("size", "both"):
        params["size"] = draw(_size(rank - 2))
    return Case("Upsample", params, (shape,), draw(BATCH))


CASES = {"Upsample": upsample_case()}


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """Rejections torch does not make: none (a size takes precedence over scale_factor)."""
    return False


def test_resize_rules_match_torch() -> None:
    tally = run_family(CASES, examples=500, deliberate=deliberate)
    assert_family_covered("resize", CASES, tally)


REGRESSIONS = [
    (Case("Upsample", {"scale_factor": 0.3, "mode": "nearest"}, ((None, 1, 3),)), REJECT),
    (Case("Upsample", {"scale_factor": 1 / 3, "mode": "bilinear", "align_corners": True},
          ((None, 2, 6, 5),)), ACCEPT),
    (Case("Upsample", {"scale_factor": None, "size": [4, 5], "mode": "bicubic"},
          ((None, 2, 2, 3),)), ACCEPT),
    (Case("Upsample", {"scale_factor": None, "size": [4], "mode": "nearest"},
          ((None, 2, 2, 3),)), REJECT),  # one size for two spatial dimensions
    (Case("Upsample", {"scale_factor": 2.0, "size": 4}, ((None, 2, 3),)), ACCEPT),  # size wins
    (Case("Upsample", {"mode": "trilinear"}, ((None, 2, 3, 3),)), REJECT),
    (Case("Upsample", {"scale_factor": 0.0, "size": 3}, ((None, 2, 3),)), ACCEPT),
    (Case("Upsample", {"scale_factor": None}, ((None, 2, 3),)), REJECT),  # neither given
]  # fmt: skip


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_resize_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome
