"""Resizing (designer/blocks/resize.py) against torch: Upsample by size or by scale_factor (both,
or neither), in every mode, on inputs of the mode's rank and others; ResizeLike to the spatial
size of a second input of the same rank or another."""

from __future__ import annotations

import pytest
from codegen_helpers import assert_equivalent
from hypothesis import strategies as st

import designer
from designer import DesignBuilder
from designer.core.params import ParamError
from designer.core.shapes import ShapeError

from .torch_check import (
    ACCEPT,
    BATCH,
    REJECT,
    Case,
    any_shape,
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


@st.composite
def resize_like_case(draw) -> Case:
    """ResizeLike: x of rank 2 to 6 resized to like's spatial size, like mostly of x's rank."""
    rank = draw(st.sampled_from([3, 4, 5] * 4 + [2, 6]))
    x = draw(spatial_shape(rank, draw(st.integers(1, 3)), st.integers(1, 4 if rank > 4 else 6)))
    same = draw(st.integers(0, 4)) > 0
    like = draw(any_shape([rank] if same else range(2, 7), st.integers(1, 4 if rank > 4 else 6)))
    modes = FITTING.get(rank, MODES) if draw(st.integers(0, 3)) else MODES
    params = {"mode": draw(st.sampled_from(modes)), "align_corners": draw(st.booleans())}
    return Case("ResizeLike", params, (x, like), draw(BATCH))


CASES = {"Upsample": upsample_case(), "ResizeLike": resize_like_case()}


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
    (Case("ResizeLike", {"mode": "bilinear", "align_corners": True},
          ((None, 2, 3, 5), (None, 7, 6, 2))), ACCEPT),
    (Case("ResizeLike", {"mode": "nearest", "align_corners": True},
          ((None, 2, 3), (None, 4, 6))), ACCEPT),  # align_corners dropped for nearest
    (Case("ResizeLike", {"mode": "bilinear"}, ((None, 2, 3, 5), (None, 2, 6))), REJECT),
    (Case("ResizeLike", {"mode": "trilinear"}, ((None, 2, 3, 5), (None, 2, 6, 4))), REJECT),
]  # fmt: skip


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_resize_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_resize_like_end_to_end(tmp_path, mode) -> None:
    """x at half size resized back to the Input's size: built, generated, exported to ONNX."""
    b = DesignBuilder("resize_like")
    x = b.input((3, 9, 7))
    down = b.add("MaxPool2d", x, node_id="pool", kernel_size=2)
    b.output(b.add("ResizeLike", down, x, node_id="resize", mode=mode))
    design = b.build()
    report = designer.validate(design)
    assert report.ok and report.nodes["resize"].shape == (None, 3, 9, 7)
    assert_equivalent(design)
    result = designer.export_onnx(design, tmp_path / "resize_like.onnx")
    assert result.parity[0].ok and "Resize" in result.ops
