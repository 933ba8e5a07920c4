"""Merging (designer/blocks/merge.py) against torch: Concat along any dimension (negative ones
too), Add and Multiply with broadcasting, PadToMatch padding and cropping."""

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

DIM = st.integers(1, 4)
BASE = any_shape(range(2, 7), DIM)


@st.composite
def _variant(draw, base: tuple, keep: int | None) -> tuple:
    """Another branch's shape: ``base`` with its ``keep`` axis free, or a few sizes (rarely the
    rank) changed."""
    kind = draw(st.sampled_from(["same"] * 6 + ["sizes", "rank"]))
    if kind == "rank":
        return draw(any_shape(range(2, 7), DIM))
    shape = list(base)
    axes = range(1, len(base))
    changed = [keep] if keep is not None and keep % len(base) else []
    if kind == "sizes":
        changed += draw(st.lists(st.sampled_from(axes), max_size=2))
    for axis in changed:
        if axis % len(base):  # the batch stays the batch
            shape[axis] = draw(DIM)
    return tuple(shape)


@st.composite
def concat_case(draw) -> Case:
    """Two to four branches joined along a dimension in or out of range."""
    base = draw(BASE)
    dim = draw(st.integers(-7, 6))
    keep = dim if -len(base) <= dim < len(base) else None
    shapes = [base] + [draw(_variant(base, keep)) for _ in range(draw(st.integers(1, 3)))]
    return Case("Concat", {"dim": dim}, tuple(shapes), draw(BATCH))


@st.composite
def _broadcastable(draw, base: tuple) -> tuple:
    """A branch for element-wise ops: each size equal to base's, 1, or other; maybe of lower
    rank (its batch then lines up with one of base's sizes)."""
    rank = draw(st.sampled_from([len(base)] * 4 + list(range(1, len(base) + 1))))
    tail = [draw(st.sampled_from([d, d, 1, 1, draw(DIM)])) for d in base[len(base) - rank + 1 :]]
    return (None, *tail)


@st.composite
def elementwise_case(draw, block: str) -> Case:
    """Add or Multiply over two to four branches."""
    base = draw(BASE)
    shapes = [draw(_broadcastable(base)) for _ in range(draw(st.integers(2, 4)))]
    return Case(block, {}, tuple(shapes), draw(BATCH))


@st.composite
def pad_case(draw) -> Case:
    """PadToMatch: x padded (or cropped) to ref's spatial size; ranks mostly equal."""
    x = draw(any_shape(range(2, 7), st.integers(1, 6)))
    same = draw(st.integers(0, 5)) > 0
    ref = draw(any_shape([len(x)] if same else range(2, 7), st.integers(1, 6)))
    return Case("PadToMatch", {}, (x, ref), draw(BATCH))


CASES = {
    "Concat": concat_case(),
    "Add": elementwise_case("Add"),
    "Multiply": elementwise_case("Multiply"),
    "PadToMatch": pad_case(),
}


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """Rejections torch does not make, on purpose: PadToMatch pads x's spatial axes to ref's sizes
    on the same axes, whatever ref's rank, and passes an x without spatial axes (N×C) through.
    Both are wiring mistakes, so the rule asks for two inputs of one rank with spatial axes.
    Concat along dim 0 would join samples and change the batch size N, which designs keep
    symbolic (found by tests/test_reliability.py)."""
    if case.block == "Concat":  # joining samples changes N, which a design keeps symbolic
        return "batch dimension" in exc.message
    return case.block == "PadToMatch" and exc.code == "rank"


def test_merge_rules_match_torch() -> None:
    tally = run_family(CASES, examples=600, deliberate=deliberate)
    assert_family_covered("merge", CASES, tally)


REGRESSIONS = [
    # a batch-sized axis against a fixed size broadcasts only when the batch happens to match
    (Case("Add", {}, ((None, 3, 4), (None, 4))), REJECT),
    (Case("Multiply", {}, ((None, 4), (None, 3, 4))), REJECT),
    (Case("Add", {}, ((None, 1, 4), (None, 4))), ACCEPT),  # N×N×4
    (Case("Add", {}, ((None, 3, 1), (None, 1, 5), (None, 3, 5))), ACCEPT),
    (Case("Concat", {"dim": 0}, ((None, 3), (None, 3))), DELIBERATE),  # would make 2N×3
    (Case("Concat", {"dim": -1}, ((None, 3, 2), (None, 3, 5))), ACCEPT),
    (Case("Concat", {"dim": -1}, ((None, 3, 2), (None, 4, 5))), REJECT),
    (Case("PadToMatch", {}, ((None, 2, 7, 3), (None, 5, 4, 6))), ACCEPT),  # crop and pad
    (Case("PadToMatch", {}, ((None, 2), (None, 3))), DELIBERATE),
    (Case("PadToMatch", {}, ((None, 2, 3), (None, 2, 4, 5))), DELIBERATE),
    (Case("PadToMatch", {}, ((None, 2, 3, 3), (None, 2, 4))), REJECT),
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_merge_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome
