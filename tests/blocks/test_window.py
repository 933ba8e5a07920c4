"""Windows (designer/blocks/window.py) against torch: Swin's ShiftedWindowAttention (v1, v2) and
PatchMerging (v1, v2); the layers against plain-torch references (and torchvision's classes,
where installed); each block end to end (live model, generated code, ONNX)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

import designer
from designer import DesignBuilder
from designer.core.cost import total_cost
from designer.core.params import ParamError
from designer.core.shapes import ShapeError
from designer.live.layers.window import (
    PatchMerging,
    PatchMergingV2,
    ShiftedWindowAttention,
    ShiftedWindowAttentionV2,
)

from .end_to_end import end_to_end
from .torch_check import (
    ACCEPT,
    BATCH,
    DELIBERATE,
    REJECT,
    Case,
    any_shape,
    assert_family_covered,
    check,
    ints,
    run_family,
)

SIZE = st.integers(1, 6)
DTYPES = st.sampled_from([()] * 6 + [("int64",), ("bool",)])


@st.composite
def attention_case(draw, block: str) -> Case:
    """Window attention on N×H×W×C maps (often), windows larger than the map or not, shifts of
    half a window or 0 (often) or any; heads that divide the channels (mostly)."""
    heads = draw(st.integers(1, 3))
    channels = heads * draw(st.integers(1, 3)) if draw(st.booleans()) else draw(st.integers(1, 6))
    window = draw(ints(2, 1, 4))
    halves = window // 2 if isinstance(window, int) else tuple(w // 2 for w in window)
    shift = draw(st.sampled_from([0, halves, halves]) | ints(2, 0, 3))
    params = draw(
        st.fixed_dictionaries(
            {
                "window_size": st.just(window),
                "shift_size": st.just(shift),
                "num_heads": st.just(heads),
            },
            optional={
                "qkv_bias": st.booleans(),
                "proj_bias": st.booleans(),
                "attention_dropout": st.sampled_from([0.0, 0.1]),
                "dropout": st.sampled_from([0.0, 0.1]),
            },
        )
    )
    rank = draw(st.sampled_from([4] * 8 + [2, 3, 5]))
    shape = (None, *draw(st.tuples(*[SIZE] * (rank - 2))), channels)
    return Case(block, params, (shape,), draw(BATCH), draw(DTYPES))


@st.composite
def merging_case(draw, block: str) -> Case:
    """Patch merging of maps with odd and even sizes, of rank 4 (often) to 6, or too low."""
    params = draw(st.fixed_dictionaries({}, optional={"eps": st.sampled_from([0.0, 1e-5, 0.5])}))
    ranks = [4] * 6 + [5, 6, 2, 3]
    return Case(block, params, (draw(any_shape(ranks, SIZE)),), draw(BATCH), draw(DTYPES))


CASES = {
    "ShiftedWindowAttention": attention_case("ShiftedWindowAttention"),
    "ShiftedWindowAttentionV2": attention_case("ShiftedWindowAttentionV2"),
    "PatchMerging": merging_case("PatchMerging"),
    "PatchMergingV2": merging_case("PatchMergingV2"),
}


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """Rejections torch does not make, on purpose:

    * a shift as large as the window: torch runs it, but its mask then marks the wrong regions;
    * patch merging of an N×H×W map: torch would merge across the batch (read as H).
    """
    if isinstance(exc, ShapeError) and exc.code == "param":
        window, shift = (case.params[k] for k in ("window_size", "shift_size"))
        pairs = zip(*(v if isinstance(v, tuple) else (v, v) for v in (shift, window)), strict=True)
        return any(s >= w for s, w in pairs)
    return case.block.startswith("PatchMerging") and len(case.shapes[0]) == 3


def test_window_rules_match_torch() -> None:
    tally = run_family(CASES, examples=500, deliberate=deliberate)
    assert_family_covered("window", CASES, tally)


SWA, SWA2 = "ShiftedWindowAttention", "ShiftedWindowAttentionV2"
REGRESSIONS = [
    (Case(SWA, {"window_size": 4, "shift_size": 2, "num_heads": 2}, ((None, 5, 7, 4),)), ACCEPT),
    (
        Case(SWA2, {"window_size": (2, 3), "shift_size": 1, "num_heads": 1}, ((None, 3, 3, 2),)),
        ACCEPT,
    ),
    (Case(SWA2, {"window_size": 1, "num_heads": 1}, ((None, 2, 2, 2),)), ACCEPT),  # no NaN
    (Case(SWA, {"window_size": 8, "shift_size": 4, "num_heads": 1}, ((None, 3, 3, 2),)), ACCEPT),
    (Case(SWA, {"num_heads": 3}, ((None, 4, 4, 4),)), REJECT),  # heads do not divide channels
    (Case(SWA, {"num_heads": 1}, ((None, 4, 4),)), REJECT),
    (
        Case(SWA, {"window_size": 2, "shift_size": 2, "num_heads": 1}, ((None, 4, 4, 2),)),
        DELIBERATE,
    ),
    (Case(SWA, {"num_heads": 1}, ((None, 4, 4, 2),), dtypes=("int64",)), REJECT),
    (Case("PatchMerging", {}, ((None, 3, 5, 2),)), ACCEPT),
    (Case("PatchMerging", {}, ((None, 3, 5),)), DELIBERATE),  # would merge across the batch
    (Case("PatchMergingV2", {}, ((None, 2, 3, 5, 2),)), ACCEPT),
    (Case("PatchMergingV2", {}, ((None, 1, 1, 2),)), ACCEPT),
    (Case("PatchMergingV2", {}, ((None, 3),)), REJECT),
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_window_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome


@pytest.mark.parametrize(
    ("block", "sample", "params"),
    [
        (SWA, (5, 6, 8), {"window_size": 3, "shift_size": 1, "num_heads": 2}),
        (SWA2, (5, 6, 8), {"window_size": (2, 3), "shift_size": 1, "num_heads": 2}),
        ("PatchMerging", (5, 6, 4), {}),
        ("PatchMergingV2", (5, 7, 4), {"eps": 1e-6}),
    ],
)
def test_window_blocks_end_to_end(tmp_path, block, sample, params) -> None:
    result = end_to_end(tmp_path, block, sample, **params)
    assert result.checked


def test_symbolic_sizes() -> None:
    """Attention takes maps of varying H and W; channels must be fixed; merging needs H, W."""
    b = DesignBuilder("varying")
    x = b.input(("H", "W", 8))
    attention = b.add(SWA, x, node_id="attn", window_size=4, shift_size=2, num_heads=2)
    b.output(b.add("PatchMerging", attention, node_id="merge"))
    (issue,) = designer.validate(b.build()).errors
    assert (issue.node, issue.code) == ("merge", "symbolic")
    b = DesignBuilder("channels")
    b.output(b.add(SWA, b.input((4, 4, "C")), node_id="attn", num_heads=1))
    (issue,) = designer.validate(b.build()).errors
    assert (issue.node, issue.code) == ("attn", "symbolic")


# -- the layers against plain torch --------------------------------------------------------------


def _offset_index(height: int, width: int) -> torch.Tensor:
    """Row of the offsets table of each pair of positions, written out."""
    cells = [(r, c) for r in range(height) for c in range(width)]
    rows = [
        (ri - rj + height - 1) * (2 * width - 1) + (ci - cj + width - 1)
        for ri, ci in cells
        for rj, cj in cells
    ]
    return torch.tensor(rows).view(len(cells), len(cells))


def _heads(module, x, key_bias: bool = True):
    """q, k, v of a map that is one window: (N, heads, positions, channels / heads)."""
    n, heads = x.shape[0], module.num_heads
    weight, bias = module.qkv.weight, module.qkv.bias
    if bias is not None and not key_bias:
        bias = bias.clone()
        bias[x.shape[-1] : 2 * x.shape[-1]] = 0
    qkv = F.linear(x.reshape(n, -1, x.shape[-1]), weight, bias)
    return [t.reshape(n, -1, heads, x.shape[-1] // heads).transpose(1, 2) for t in qkv.chunk(3, -1)]


def _randomize(module) -> None:
    torch.manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.5)


@pytest.mark.parametrize("window", [(3, 4), (2, 2), (1, 3)])
def test_one_window_is_attention_with_a_relative_bias(window) -> None:
    """A map of one window: plain attention with the bias table read at each pair's offset."""
    module = ShiftedWindowAttention(6, window, 0, 2).eval()
    _randomize(module)
    x = torch.randn(2, *window, 6)
    q, k, v = _heads(module, x)
    bias = module.relative_position_bias_table[_offset_index(*window)].permute(2, 0, 1)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    want = module.proj(out.transpose(1, 2).reshape(x.shape))
    torch.testing.assert_close(module(x), want)


@pytest.mark.parametrize("window", [(3, 4), (2, 2), (4, 1)])
def test_v2_one_window_is_cosine_attention_with_an_mlp_bias(window) -> None:
    """V2 on one window: cosine scores times the clamped scale, plus 16·sigmoid(MLP(offset))
    at log-spaced offsets; the keys' bias stays zero."""
    module = ShiftedWindowAttentionV2(6, window, 0, 2).eval()
    _randomize(module)
    x = torch.randn(2, *window, 6)
    q, k, v = _heads(module, x, key_bias=False)
    scale = module.logit_scale.clamp(max=torch.tensor(100.0).log()).exp()
    offsets = [
        [dh / max(window[0] - 1, 1), dw / max(window[1] - 1, 1)]
        for dh in range(1 - window[0], window[0])
        for dw in range(1 - window[1], window[1])
    ]
    logs = torch.tensor(offsets) * 8
    logs = logs.sign() * torch.log2(logs.abs() + 1) / 3
    assert torch.allclose(module.relative_coords_table.view(-1, 2), logs)
    bias = 16 * torch.sigmoid(module.cpb_mlp(logs)[_offset_index(*window)].permute(2, 0, 1))
    q = F.normalize(q, dim=-1) * scale
    out = F.scaled_dot_product_attention(q, F.normalize(k, dim=-1), v, attn_mask=bias, scale=1.0)
    want = module.proj(out.transpose(1, 2).reshape(x.shape))
    torch.testing.assert_close(module(x), want)


@pytest.mark.parametrize("cls", [ShiftedWindowAttention, ShiftedWindowAttentionV2])
def test_shifted_windows_keep_regions_apart(cls) -> None:
    """With a shift, a window holds positions of regions that were not adjacent: changing one
    position changes the outputs of its own region only (within its window)."""
    module = cls(4, 4, 2, 1).eval()
    x = torch.randn(1, 8, 8, 4)
    changed = x.clone()
    changed[0, 7, 7] += 1.0  # bottom right corner: rolled into the top left window with rows 0, 1
    with torch.no_grad():
        moved = (module(changed) - module(x)).abs().amax(-1)[0] > 1e-6
    # the corner's window after the roll back: rows and columns 6, 7, 0, 1; its region: 6..7 x 6..7
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[6:, 6:] = True
    assert torch.equal(moved, expected)


def test_no_shift_means_independent_windows() -> None:
    module = ShiftedWindowAttention(4, 2, 0, 2).eval()
    x = torch.randn(1, 4, 4, 4)
    with torch.no_grad():
        whole = module(x)
        corner = module(x[:, :2, :2].contiguous())
    torch.testing.assert_close(whole[:, :2, :2], corner)


def test_patch_merging_concatenates_each_two_by_two_patch() -> None:
    """Features of (2i, 2j), (2i+1, 2j), (2i, 2j+1), (2i+1, 2j+1), zero-padded to even sizes."""
    x = torch.randn(2, 3, 5, 4)
    padded = F.pad(x, (0, 0, 0, 1, 0, 1))
    patches = torch.cat(
        [
            padded[:, 0::2, 0::2],
            padded[:, 1::2, 0::2],
            padded[:, 0::2, 1::2],
            padded[:, 1::2, 1::2],
        ],
        -1,
    )
    for cls, want in [
        (PatchMerging, lambda m: m.reduction(m.norm(patches))),
        (PatchMergingV2, lambda m: m.norm(m.reduction(patches))),
    ]:
        module = cls(4).eval()
        _randomize(module)
        torch.testing.assert_close(module(x), want(module))
        assert list(module.state_dict()) == ["reduction.weight", "norm.weight", "norm.bias"]


def test_state_dicts_are_torchvisions() -> None:
    """Keys in torchvision's order; every buffer persistent, as torchvision registers them."""
    v1 = ShiftedWindowAttention(6, 3, 1, 2)
    assert list(v1.state_dict()) == [
        "relative_position_bias_table",
        "relative_position_index",
        "qkv.weight",
        "qkv.bias",
        "proj.weight",
        "proj.bias",
    ]
    v2 = ShiftedWindowAttentionV2(6, 3, 1, 2)
    assert list(v2.state_dict()) == [
        "logit_scale",
        "relative_coords_table",
        "relative_position_index",
        "qkv.weight",
        "qkv.bias",
        "proj.weight",
        "proj.bias",
        "cpb_mlp.0.weight",
        "cpb_mlp.0.bias",
        "cpb_mlp.2.weight",
    ]
    assert not v1._non_persistent_buffers_set and not v2._non_persistent_buffers_set
    assert v1.relative_position_index.dtype == torch.int64
    assert not v2.qkv.bias[6:12].any()


@pytest.mark.parametrize(
    ("block", "sample", "params"),
    [
        (SWA, (5, 6, 8), {"window_size": 3, "shift_size": 1, "num_heads": 2}),
        (SWA2, (4, 7, 6), {"window_size": (2, 3), "num_heads": 3}),
        ("PatchMerging", (5, 6, 4), {}),
        ("PatchMergingV2", (2, 5, 7, 4), {}),
    ],
)
def test_macs_match_torch_flop_counter(block, sample, params) -> None:
    b = DesignBuilder("macs")
    b.output(b.add(block, b.input(sample), node_id="block", **params))
    design = b.build()
    macs = total_cost(design, designer.validate(design)).macs
    live = designer.build(design, "cpu").eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        live(torch.randn(1, *sample))
    assert macs * 2 == counter.get_total_flops()


# -- torchvision's classes, where installed ------------------------------------------------------


@pytest.mark.parametrize("v2", [False, True])
def test_equal_to_torchvision(v2) -> None:
    swin = pytest.importorskip("torchvision.models.swin_transformer")
    pairs = [
        (
            swin.ShiftedWindowAttentionV2,
            ShiftedWindowAttentionV2,
            swin.PatchMergingV2,
            PatchMergingV2,
        )
        if v2
        else (swin.ShiftedWindowAttention, ShiftedWindowAttention, swin.PatchMerging, PatchMerging)
    ]
    theirs, ours, their_merge, our_merge = pairs[0]
    for window, shift, size in [([4, 4], [2, 2], (9, 11)), ([3, 2], [1, 1], (5, 4))]:
        reference = theirs(12, window, shift, 3).eval()
        module = ours(12, window, shift, 3).eval()
        assert list(module.state_dict()) == list(reference.state_dict())
        module.load_state_dict(reference.state_dict(), strict=True)
        x = torch.randn(2, *size, 12)
        torch.testing.assert_close(module(x), reference(x), rtol=0, atol=0)
    reference, module = their_merge(6).eval(), our_merge(6).eval()
    module.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 5, 3, 6)
    torch.testing.assert_close(module(x), reference(x), rtol=0, atol=0)
