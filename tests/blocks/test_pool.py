"""Pooling (designer/blocks/pool.py) against torch: MaxPool1d/2d/3d, AvgPool1d/2d/3d and adaptive
pooling, with windows larger than the input, padding at and past half the window, dilation and
ceil_mode."""

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
    ints,
    run_family,
    spatial_shape,
)


def _input(draw, n: int) -> tuple:
    """Mostly an (n+2)-D batched input; sometimes one rank off either way."""
    rank = draw(st.sampled_from([n + 2] * 8 + [n + 1, n + 3]))
    size = st.integers(1, 5 if n == 3 else 9)
    return draw(spatial_shape(max(rank, 2), draw(st.integers(1, 3)), size))


@st.composite
def window_case(draw, block: str) -> Case:
    """MaxPool or AvgPool with every window parameter drawn."""
    n = int(block[-2])
    optional = {
        "stride": st.one_of(st.none(), ints(n, 1, 3)),
        "padding": ints(n, 0, 3),
        "ceil_mode": st.booleans(),
    }
    if block.startswith("Max"):
        optional["dilation"] = ints(n, 1, 3)
    else:
        optional["count_include_pad"] = st.booleans()
    params = draw(st.fixed_dictionaries({"kernel_size": ints(n, 1, 5)}, optional=optional))
    return Case(block, params, (_input(draw, n),), draw(BATCH))


@st.composite
def adaptive_case(draw, block: str) -> Case:
    """Adaptive pooling to sizes below, at and above the input's."""
    n = int(block[-2])
    params = draw(st.fixed_dictionaries({}, optional={"output_size": ints(n, 1, 6)}))
    return Case(block, params, (_input(draw, n),), draw(BATCH))


CASES = {
    f"{kind}Pool{n}d": window_case(f"{kind}Pool{n}d") for kind in ("Max", "Avg") for n in (1, 2, 3)
} | {
    name: adaptive_case(name)
    for name in ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool2d")
}


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """Rejections torch does not make, on purpose, all of ranks other than the documented N×C×...:

    * torch reads an (n+1)-D input as one unbatched sample (C, *spatial); every shape in a design
      carries its batch first, so we ask for n+2 dimensions;
    * AdaptiveAvgPool2d/3d pool the last n dimensions of any input, treating all leading ones as
      batch (undocumented; the 1-D and max variants refuse): we keep to N×C×spatial.
    """
    n, rank = int(case.block[-2]), len(case.shapes[0])
    lenient = case.block in ("AdaptiveAvgPool2d", "AdaptiveAvgPool3d") and rank > n + 2
    return exc.code == "rank" and (rank == n + 1 or lenient)


def test_pool_rules_match_torch() -> None:
    tally = run_family(CASES, examples=800, deliberate=deliberate)
    assert_family_covered("pool", CASES, tally)


REGRESSIONS = [
    # torch bounds padding by half the kernel_size, whatever the dilation
    (Case("MaxPool1d", {"kernel_size": 3, "padding": 2, "dilation": 2}, ((None, 1, 9),)), REJECT),
    (Case("MaxPool2d", {"kernel_size": 2, "padding": 1, "dilation": 3}, ((None, 1, 4, 4),)),
     ACCEPT),
    # ceil_mode: the last window must start inside the input or its left padding
    (Case("MaxPool1d", {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True},
          ((None, 1, 5),)), ACCEPT),
    (Case("AvgPool2d", {"kernel_size": 3, "padding": 1, "ceil_mode": True},
          ((None, 2, 4, 7),)), ACCEPT),
    (Case("AvgPool1d", {"kernel_size": 4}, ((None, 1, 3),)), REJECT),  # window larger than input
    # 3-D average pooling wants the window inside the unpadded input; 1-D and 2-D do not
    (Case("AvgPool3d", {"kernel_size": 2, "padding": 1}, ((None, 1, 1, 2, 2),)), REJECT),
    (Case("AvgPool2d", {"kernel_size": 2, "padding": 1}, ((None, 1, 1, 2),)), ACCEPT),
    (Case("AdaptiveMaxPool2d", {"output_size": [5, 7]}, ((None, 1, 2, 3),)), ACCEPT),
]  # fmt: skip


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_pool_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome
