"""Normalisation (designer/blocks/norm.py) against torch: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d,
GroupNorm, LayerNorm, RMSNorm, LayerNorm2d; the new blocks end to end (live model, generated code,
ONNX), and LayerNorm2d against a ConvNeXt-style reference."""

from __future__ import annotations

from math import prod

import pytest
import torch
from hypothesis import strategies as st
from torch import nn

import designer
from designer import DesignBuilder
from designer.core.params import ParamError
from designer.core.shapes import ShapeError
from designer.live.layers.norm import LayerNorm2d

from .end_to_end import end_to_end
from .torch_check import (
    ACCEPT,
    BATCH,
    BATCH_ONE,
    DELIBERATE,
    REJECT,
    Case,
    any_shape,
    assert_family_covered,
    check,
    run_family,
)

SIZE = st.integers(1, 4)  # small, and 1 often: a single spatial element is an edge case here
EPS = st.sampled_from([0.0, 1e-5, 1e-3, 0.5])


def _ranks(block: str) -> list[int]:
    """The ranks a block is meant for (often) and the others (rarely)."""
    n = int(block[-2])
    meant = [2, 3] if block == "BatchNorm1d" else [n + 2]
    return meant * 6 + [2, 3, 4, 5, 6]


@st.composite
def running_case(draw, block: str) -> Case:
    """BatchNorm or InstanceNorm of 1, 2 or 3 spatial dimensions, every switch drawn."""
    params = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "eps": EPS,
                "momentum": st.floats(0.0, 1.0),
                "affine": st.booleans(),
                "track_running_stats": st.booleans(),
            },
        )
    )
    return Case(block, params, (draw(any_shape(_ranks(block), SIZE)),), draw(BATCH))


@st.composite
def group_norm_case(draw) -> Case:
    """GroupNorm with groups that divide the channels (mostly) or not."""
    groups = draw(st.integers(1, 4))
    channels = groups * draw(st.integers(1, 2)) if draw(st.booleans()) else draw(st.integers(1, 6))
    rank = draw(st.sampled_from([1, 2, 3, 4, 4, 4, 5, 6]))
    shape = (None, channels, *draw(st.tuples(*[SIZE] * (rank - 2)))) if rank > 1 else (None,)
    params = draw(
        st.fixed_dictionaries(
            {"num_groups": st.just(groups)}, optional={"eps": EPS, "affine": st.booleans()}
        )
    )
    return Case("GroupNorm", params, (shape,), draw(BATCH))


@st.composite
def layer_norm_case(draw) -> Case:
    """LayerNorm over 1 to 5 trailing dimensions, up to and past the batch."""
    params = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "dims": st.integers(1, 5),
                "eps": EPS,
                "elementwise_affine": st.booleans(),
                "bias": st.booleans(),
            },
        )
    )
    return Case("LayerNorm", params, (draw(any_shape(range(1, 7), SIZE)),), draw(BATCH))


@st.composite
def rms_norm_case(draw) -> Case:
    """RMSNorm over 1 to 5 trailing dimensions, eps torch's default (None) or given."""
    params = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "dims": st.integers(1, 5),
                "eps": st.sampled_from([None, 0.0, 1e-6, 0.5]),
                "elementwise_affine": st.booleans(),
            },
        )
    )
    return Case("RMSNorm", params, (draw(any_shape(range(1, 7), SIZE)),), draw(BATCH))


@st.composite
def layer_norm2d_case(draw) -> Case:
    """LayerNorm2d on images of 1 to 3 spatial dimensions (often), or of too low a rank."""
    params = draw(
        st.fixed_dictionaries(
            {}, optional={"eps": EPS, "elementwise_affine": st.booleans(), "bias": st.booleans()}
        )
    )
    ranks = [3, 4, 4, 4, 5, 6] * 3 + [1, 2]
    return Case("LayerNorm2d", params, (draw(any_shape(ranks, SIZE)),), draw(BATCH))


CASES = {
    f"{kind}Norm{n}d": running_case(f"{kind}Norm{n}d")
    for kind in ("Batch", "Instance")
    for n in (1, 2, 3)
} | {
    "GroupNorm": group_norm_case(),
    "LayerNorm": layer_norm_case(),
    "RMSNorm": rms_norm_case(),
    "LayerNorm2d": layer_norm2d_case(),
}


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """Rejections torch does not make in eval mode, on purpose:

    * InstanceNorm{n}d reads an (n+1)-D input as one unbatched sample; our shapes carry the batch;
    * BatchNorm with eps=0: torch refuses it while training ("eps must be positive");
    * InstanceNorm over a single spatial element: torch refuses it while training (and in eval
      unless track_running_stats), so we refuse it whatever the switches;
    * GroupNorm whose groups each hold one value: torch refuses it for a batch of one only, and
      the output is just the bias for any batch;
    * LayerNorm2d of an N×C input: it has no positions (LayerNorm does that).
    """
    block, shape, params = case.block, case.shapes[0], case.params
    if block.startswith("InstanceNorm") and exc.code == "rank":
        return len(shape) == int(block[-2]) + 1
    if block.startswith("BatchNorm"):
        return params.get("eps", 1e-5) == 0.0
    if block.startswith("InstanceNorm"):
        return prod(shape[2:]) == 1 and bool(params.get("track_running_stats"))
    if block == "GroupNorm":
        return shape[1] // params["num_groups"] * prod(shape[2:]) == 1
    if block == "LayerNorm2d":
        return exc.code == "rank" and len(shape) == 2
    return False


def batch_one(case: Case) -> bool:
    """BatchNorm computing statistics over the batch (always while training, in eval mode too
    without running statistics) needs more than one value per channel: a batch of one fails when
    there is a single spatial element. The batch is symbolic in a design, so the rule accepts."""
    running = case.params.get("track_running_stats", True)
    return case.block.startswith("BatchNorm") and not running and prod(case.shapes[0][2:]) == 1


def test_norm_rules_match_torch() -> None:
    tally = run_family(CASES, examples=600, deliberate=deliberate, batch_one=batch_one)
    assert_family_covered("norm", CASES, tally)


REGRESSIONS = [
    # torch: "Expected more than 1 spatial element when training"
    (Case("InstanceNorm2d", {}, ((None, 3, 1, 1),)), REJECT),
    (Case("InstanceNorm2d", {"track_running_stats": True}, ((None, 3, 1, 1),)), DELIBERATE),
    (Case("InstanceNorm1d", {}, ((None, 3, 2),)), ACCEPT),
    # torch: "Expected more than 1 value per channel" at batch 1
    (Case("GroupNorm", {"num_groups": 3}, ((None, 3, 1, 1),)), REJECT),
    (Case("GroupNorm", {"num_groups": 3}, ((None, 6, 1, 1),)), ACCEPT),
    (Case("BatchNorm2d", {"eps": 0.0}, ((None, 3, 2, 2),)), DELIBERATE),
    (Case("LayerNorm", {"dims": 3}, ((None, 2, 3),)), REJECT),  # would normalise over the batch
    (Case("LayerNorm", {"dims": 3}, ((None, 2),)), REJECT),
    (Case("BatchNorm1d", {"track_running_stats": False}, ((None, 4),)), BATCH_ONE),
    (Case("RMSNorm", {"dims": 2}, ((None, 2),)), REJECT),  # would normalise over the batch
    (Case("RMSNorm", {"eps": None, "dims": 2}, ((None, 2, 3),)), ACCEPT),
    (Case("RMSNorm", {"elementwise_affine": False}, ((None, 1),)), ACCEPT),
    (Case("LayerNorm2d", {}, ((None, 4),)), DELIBERATE),  # no positions: LayerNorm's job
    (Case("LayerNorm2d", {}, ((None,),)), REJECT),
    (Case("LayerNorm2d", {"bias": False}, ((None, 3, 1),)), ACCEPT),
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_norm_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate, batch_one) == outcome


@pytest.mark.parametrize(
    ("block", "sample", "params", "ops"),
    [
        ("RMSNorm", (4, 5), {}, {"ReduceMean"}),
        ("RMSNorm", (3, 4, 5), {"dims": 2, "eps": 1e-3, "elementwise_affine": False}, set()),
        ("LayerNorm2d", (4, 5, 6), {}, {"Transpose", "LayerNormalization"}),
        ("LayerNorm2d", (3, 2, 3, 4), {"bias": False}, {"LayerNormalization"}),
    ],
)
def test_new_norms_end_to_end(tmp_path, block, sample, params, ops) -> None:
    result = end_to_end(tmp_path, block, sample, **params)
    assert ops <= set(result.ops)


def _random_affine(module: nn.Module) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.5)


@pytest.mark.parametrize("shape", [(2, 6, 5, 7), (2, 6, 9), (1, 6, 2, 3, 4)])
def test_layer_norm2d_is_convnext_layer_norm(shape) -> None:
    """LayerNorm2d equals ConvNeXt's permute, nn.LayerNorm, permute back, weights copied."""
    torch.manual_seed(0)
    ours = LayerNorm2d(6, eps=1e-6)
    _random_affine(ours)
    reference = nn.LayerNorm(6, eps=1e-6)
    reference.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(shape)
    last = (0, *range(2, len(shape)), 1)  # channels last
    back = (0, len(shape) - 1, *range(1, len(shape) - 1))
    expected = reference(x.permute(last)).permute(back)
    torch.testing.assert_close(ours(x), expected)
    assert list(ours.state_dict()) == ["weight", "bias"]


def test_layer_norm2d_block_builds_the_reference() -> None:
    b = DesignBuilder("convnext")
    b.output(b.add("LayerNorm2d", b.input((8, 3, 3)), node_id="norm"))
    live = designer.build(b.build(), "cpu").eval()
    _random_affine(live)
    norm = live.get_submodule("norm")
    assert isinstance(norm, nn.LayerNorm) and norm.eps == 1e-6
    reference = nn.LayerNorm(8, eps=1e-6)
    reference.load_state_dict(norm.state_dict(), strict=True)
    x = torch.randn(2, 8, 3, 3)
    with torch.no_grad():
        expected = reference(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        torch.testing.assert_close(live(x), expected)


@pytest.mark.parametrize(
    ("block", "sample", "params"),
    [
        ("RMSNorm", ("T", 4), {"dims": 2, "elementwise_affine": False}),
        ("LayerNorm2d", ("C", 3), {}),
    ],
)
def test_normalised_sizes_must_be_fixed(block, sample, params) -> None:
    """torch's constructor takes the normalised sizes, so they cannot vary, weights or not."""
    b = DesignBuilder("varying")
    b.output(b.add(block, b.input(sample), node_id="norm", **params))
    (issue,) = designer.validate(b.build()).errors
    assert (issue.node, issue.code) == ("norm", "symbolic")
