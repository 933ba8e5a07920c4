"""Convolutions (designer/blocks/conv.py) against torch: Conv1d/2d/3d, ConvTranspose1d/2d/3d."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from designer.blocks import REGISTRY
from designer.core.shapes import ShapeError

from .torch_check import (
    ACCEPT,
    BATCH,
    DELIBERATE,
    REJECT,
    Case,
    assert_family_covered,
    check,
    ints,
    run_family,
    spatial_shape,
)


@st.composite
def _channels(draw) -> tuple[int, int, int]:
    """Input channels, output channels and groups: mostly compatible, sometimes not."""
    groups = draw(st.sampled_from([1, 1, 1, 2, 3, 4]))
    fits = draw(st.integers(0, 4)) > 0
    c_in = groups * draw(st.integers(1, 2)) if fits else draw(st.integers(1, 6))
    c_out = groups * draw(st.integers(1, 2)) if fits else draw(st.integers(1, 6))
    return c_in, c_out, groups


def _input(draw, n: int, c_in: int) -> tuple:
    """Mostly an (n+2)-D batched input; sometimes one rank off either way."""
    rank = draw(st.sampled_from([n + 2] * 8 + [n + 1, n + 3]))
    size = st.integers(1, 5 if n == 3 else 8)
    return draw(spatial_shape(max(rank, 2), c_in, size))


@st.composite
def conv_case(draw, n: int) -> Case:
    """Conv{n}d with every parameter drawn, 'same'/'valid' and non-zero padding modes included."""
    c_in, c_out, groups = draw(_channels())
    params = draw(
        st.fixed_dictionaries(
            {"out_channels": st.just(c_out), "kernel_size": ints(n, 1, 5)},
            optional={
                "stride": ints(n, 1, 3),
                "padding": st.one_of(ints(n, 0, 3), st.sampled_from(["same", "valid"])),
                "dilation": ints(n, 1, 3),
                "groups": st.just(groups),
                "bias": st.booleans(),
                "padding_mode": st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
            },
        )
    )
    return Case(f"Conv{n}d", params, (_input(draw, n, c_in),), draw(BATCH))


@st.composite
def conv_transpose_case(draw, n: int) -> Case:
    """ConvTranspose{n}d with output_padding against stride and dilation, and large padding."""
    c_in, c_out, groups = draw(_channels())
    params = draw(
        st.fixed_dictionaries(
            {"out_channels": st.just(c_out), "kernel_size": ints(n, 1, 4)},
            optional={
                "stride": ints(n, 1, 3),
                "padding": ints(n, 0, 4),
                "output_padding": ints(n, 0, 3),
                "dilation": ints(n, 1, 3),
                "groups": st.just(groups),
                "bias": st.booleans(),
            },
        )
    )
    return Case(f"ConvTranspose{n}d", params, (_input(draw, n, c_in),), draw(BATCH))


CASES = {f"Conv{n}d": conv_case(n) for n in (1, 2, 3)} | {
    f"ConvTranspose{n}d": conv_transpose_case(n) for n in (1, 2, 3)
}


def _expand(value, n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(value)


def empty_transpose_output(case: Case) -> bool:
    """Whether a transposed convolution's output would have no elements along some axis."""
    n = int(case.block[-2])
    p = {**REGISTRY.get(case.block).defaults(), **case.params}
    k, s, pad, opad, d = (
        _expand(p[key], n)
        for key in ("kernel_size", "stride", "padding", "output_padding", "dilation")
    )
    sizes = case.shapes[0][2:]
    return any(
        (sizes[i] - 1) * s[i] - 2 * pad[i] + d[i] * (k[i] - 1) + opad[i] + 1 < 1 for i in range(n)
    )


def deliberate(case: Case, exc: ShapeError) -> bool:
    """Rejections torch does not make, on purpose:

    * torch reads an (n+1)-D input as one unbatched sample (C, *spatial), so it may accept what we
      refuse; every shape in a design carries its batch first, so we ask for n+2 dimensions;
    * a grouped transposed convolution on CPU returns an empty tensor where the ungrouped one
      raises "Output size is too small"; we refuse an output without elements either way.
    """
    n = int(case.block[-2])
    if exc.code == "rank":
        return len(case.shapes[0]) == n + 1
    return case.block.startswith("ConvTranspose") and empty_transpose_output(case)


def test_conv_rules_match_torch() -> None:
    tally = run_family(CASES, examples=900, deliberate=deliberate)
    assert_family_covered("conv", CASES, tally)


REGRESSIONS = [
    # 'same' pads d*(k-1) in all, the larger half on the right: reflect needs that half < size
    (Case("Conv1d", {"out_channels": 1, "kernel_size": 4, "padding": "same",
                     "padding_mode": "reflect"}, ((None, 1, 2),)), REJECT),
    (Case("Conv1d", {"out_channels": 1, "kernel_size": 4, "padding": "same",
                     "padding_mode": "reflect"}, ((None, 1, 3),)), ACCEPT),
    # replicate padding repeats the border, so it may exceed the input size
    (Case("Conv2d", {"out_channels": 2, "kernel_size": 3, "padding": 4,
                     "padding_mode": "replicate"}, ((None, 1, 2, 3),)), ACCEPT),
    # circular padding may wrap around once, not more
    (Case("Conv1d", {"out_channels": 1, "kernel_size": 1, "padding": 3,
                     "padding_mode": "circular"}, ((None, 1, 3),)), ACCEPT),
    (Case("Conv1d", {"out_channels": 1, "kernel_size": 1, "padding": 4,
                     "padding_mode": "circular"}, ((None, 1, 3),)), REJECT),
    # refusals of a parameter combination say so (code 'param') with a hint
    (Case("Conv2d", {"out_channels": 1, "padding": "same", "stride": 2}, ((None, 1, 4, 4),)),
     REJECT),
    (Case("ConvTranspose1d", {"out_channels": 1, "stride": 2, "output_padding": 2},
          ((None, 1, 3),)), REJECT),
    # an output without elements: torch raises, or (grouped, on CPU) returns an empty tensor
    (Case("ConvTranspose1d", {"out_channels": 2, "kernel_size": 1, "stride": 2, "padding": 1,
                              "groups": 2, "output_padding": 1}, ((None, 2, 1),)), DELIBERATE),
    # a transposed convolution whose padding eats the whole output
    (Case("ConvTranspose1d", {"out_channels": 1, "kernel_size": 1, "stride": 1, "padding": 1},
          ((None, 1, 2),)), REJECT),
]  # fmt: skip


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_conv_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome
