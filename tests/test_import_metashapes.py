"""The importer's shortcuts for example values equal what the meta device computes.

``metashapes`` gives the sizes of common layers and calls by torch's formulas (the meta device
runs them through slow decompositions): each case compares its result with the real meta run,
and each argument outside the plain case it handles must give None (the meta run decides).
``livekeys`` gives the live model's state-dict keys without building it: they must equal the
built model's, for the test models and for the designs their imports make.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from import_models import Branchy, Mixed, ResNet, UNet
from torch import nn

import designer
from designer.interop.importer import import_torch
from designer.interop.importer.livekeys import live_keys
from designer.interop.importer.metashapes import function_value, layer_value
from designer.interop.importer.values import meta_module
from designer.live.layers import window
from designer.live.model import LiveModel
from designer.live.plan import make_plan


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype, device="meta")


def same(got, want) -> bool:
    """Equal meta results: tensors of one shape and dtype (tuples item by item)."""
    if isinstance(want, tuple):
        return isinstance(got, tuple) and len(got) == len(want) and all(map(same, got, want))
    if want is None:
        return got is None
    return got.shape == want.shape and got.dtype == want.dtype and got.device == want.device


LAYERS = [
    (nn.Linear(8, 5), (meta(2, 8),), {}),
    (nn.Linear(8, 5, bias=False), (meta(2, 3, 4, 8),), {}),
    (nn.Linear(8, 5), (meta(8),), {}),
    (nn.Conv1d(4, 6, 3, stride=2, padding=1), (meta(2, 4, 17),), {}),
    (
        nn.Conv2d(4, 6, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(2, 1)),
        (meta(2, 4, 9, 11),),
        {},
    ),
    (nn.Conv2d(4, 8, 3, groups=4, bias=False), (meta(4, 7, 7),), {}),
    (nn.Conv2d(4, 6, 4, padding="same", dilation=2), (meta(1, 4, 10, 9),), {}),
    (nn.Conv2d(4, 6, 3, padding="valid"), (meta(1, 4, 10, 9),), {}),
    (nn.Conv3d(2, 3, 3, stride=2), (meta(1, 2, 7, 8, 9),), {}),
    (nn.AdaptiveAvgPool2d(1), (meta(2, 5, 7, 7),), {}),
    (nn.AdaptiveAvgPool2d((3, None)), (meta(5, 7, 6),), {}),
    (nn.AdaptiveMaxPool1d(4), (meta(2, 3, 9),), {}),
    (nn.AdaptiveAvgPool3d((2, 1, 3)), (meta(1, 2, 4, 5, 6),), {}),
    (nn.MultiheadAttention(8, 2), (meta(5, 2, 8),) * 3, {}),
    (
        nn.MultiheadAttention(8, 2, batch_first=True),
        (meta(2, 5, 8), meta(2, 3, 8), meta(2, 3, 8)),
        {},
    ),
    (nn.MultiheadAttention(8, 2, batch_first=True), (meta(2, 5, 8),) * 3, {"need_weights": False}),
    (
        nn.MultiheadAttention(8, 2, kdim=4, vdim=6),
        (meta(5, 2, 8), meta(3, 2, 4), meta(3, 2, 6)),
        {"average_attn_weights": False},
    ),
    (window.ShiftedWindowAttention(8, [4, 4], [2, 2], 2), (meta(2, 9, 7, 8),), {}),
    (window.ShiftedWindowAttentionV2(8, [4, 4], [2, 2], 2), (meta(1, 8, 8, 8),), {}),
    (window.PatchMerging(8), (meta(2, 9, 7, 8),), {}),
    (window.PatchMergingV2(8), (meta(2, 8, 6, 8),), {}),
]


@pytest.mark.parametrize(("layer", "args", "kwargs"), LAYERS, ids=lambda v: type(v).__name__)
def test_layer_sizes_equal_the_meta_run(layer, args, kwargs) -> None:
    got = layer_value(layer.eval(), args, kwargs)
    assert got is not None, "the shortcut should take this plain case"
    assert same(got, meta_module(layer)(*args, **kwargs))


REFUSED = [
    (nn.Linear(8, 5), (meta(2, 7),), {}),  # the wrong width: torch raises
    (nn.Linear(8, 5), (meta(2, 8, dtype=torch.float64),), {}),  # another dtype than the weight's
    (nn.Linear(8, 5), (meta(0, 8),), {}),  # an empty batch
    (nn.Conv2d(4, 6, 3), (meta(2, 5, 9, 9),), {}),  # the wrong channels
    (nn.Conv2d(4, 6, 5), (meta(2, 4, 3, 9),), {}),  # a kernel larger than the input
    (nn.Conv2d(4, 6, 3, padding=1, padding_mode="reflect"), (meta(2, 4, 9, 9),), {}),
    (nn.Conv2d(4, 6, 3), (meta(4, 9),), {}),  # the wrong rank
    (nn.AdaptiveMaxPool2d(2, return_indices=True), (meta(1, 2, 5, 5),), {}),
    (nn.AdaptiveAvgPool2d(2), (meta(1, 2, 5, 5, dtype=torch.int64),), {}),
    (nn.MultiheadAttention(8, 2), (meta(5, 2, 8),) * 3, {"attn_mask": meta(5, 5)}),
    (nn.MultiheadAttention(8, 2), (meta(5, 8),) * 3, {}),  # unbatched
    (nn.MultiheadAttention(8, 2, add_bias_kv=True), (meta(5, 2, 8),) * 3, {}),  # one more key
    (nn.MultiheadAttention(8, 2, add_zero_attn=True), (meta(5, 2, 8),) * 3, {}),
    (nn.MultiheadAttention(8, 2), (meta(5, 2, 8), meta(3, 2, 8), meta(4, 2, 8)), {}),
    (nn.Linear(8, 5), (meta(2, 8),), {"input": 1}),  # not a call torch takes
    (window.PatchMerging(8), (meta(2, 9, 7, 6),), {}),
]


@pytest.mark.parametrize(("layer", "args", "kwargs"), REFUSED, ids=lambda v: type(v).__name__)
def test_other_cases_are_left_to_the_meta_device(layer, args, kwargs) -> None:
    assert layer_value(layer, args, kwargs) is None


def test_other_layers_are_left_to_the_meta_device() -> None:
    assert layer_value(nn.ReLU(), (meta(2, 3),), {}) is None
    assert layer_value(nn.ConvTranspose2d(2, 3, 3), (meta(1, 2, 5, 5),), {}) is None


FUNCTIONS = [
    (torch.cat, ([meta(2, 3, 4), meta(2, 5, 4)], 1), {}),
    (torch.cat, ([meta(2, 3), meta(1, 3), meta(4, 3)],), {}),
    (torch.cat, ((meta(2, 3, 4), meta(2, 3, 1)),), {"dim": -1}),
    (torch.concat, ([meta(2, 3)],), {"dim": 0}),
    (F.interpolate, (meta(1, 3, 5, 7),), {"size": (10, 3), "mode": "bilinear"}),
    (F.interpolate, (meta(1, 3, 5, 7),), {"size": torch.Size([4, 4]), "mode": "nearest"}),
    (F.interpolate, (meta(2, 3, 5), 9), {"mode": "linear", "align_corners": True}),
    (F.interpolate, (meta(1, 2, 3, 4, 5), (2, 3, 4)), {"mode": "trilinear"}),
]


@pytest.mark.parametrize(
    ("fn", "args", "kwargs"), FUNCTIONS, ids=lambda v: getattr(v, "__name__", "")
)
def test_call_sizes_equal_the_meta_run(fn, args, kwargs) -> None:
    got = function_value(fn, args, kwargs)
    assert got is not None, "the shortcut should take this plain case"
    assert same(got, fn(*args, **kwargs))


FUNCTIONS_REFUSED = [
    (torch.cat, ([meta(2, 3), meta(2, 4)], 0), {}),  # sizes differ off the axis
    (torch.cat, ([meta(2, 3), meta(2, 3, dtype=torch.float64)],), {}),  # dtypes promote
    (torch.cat, ([meta(2, 3), meta(2, 3, 1)],), {}),
    (torch.cat, ([meta(2, 3)], 2), {}),
    (torch.cat, ([],), {}),
    (F.interpolate, (meta(1, 3, 5, 7),), {"scale_factor": 2.0}),
    (F.interpolate, (meta(1, 3, 5, 7),), {"size": (4, 4), "mode": "trilinear"}),
    (F.interpolate, (meta(1, 3, 5, 7),), {"size": (4, 4), "align_corners": True}),
    (F.interpolate, (meta(1, 3, 5, 7),), {"size": (4,), "mode": "bilinear"}),
    (F.interpolate, (meta(1, 3, 5, 7),), {"size": (4, 4), "mode": "bilinear", "antialias": True}),
    (F.interpolate, (meta(1, 3, 5, 7),), {"size": (4, 4), "mode": "cubic"}),
]


@pytest.mark.parametrize(
    ("fn", "args", "kwargs"), FUNCTIONS_REFUSED, ids=lambda v: getattr(v, "__name__", "")
)
def test_other_calls_are_left_to_the_meta_device(fn, args, kwargs) -> None:
    assert function_value(fn, args, kwargs) is None


def built_keys(design) -> set[str]:
    with torch.device("meta"):
        return set(LiveModel(make_plan(design)).state_dict())


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.norm = nn.LayerNorm(8)

    def forward(self, x):
        return self.norm(x + self.attn(x, x, x, need_weights=False)[0])


class Windows(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(4, 8)
        self.blocks = nn.Sequential(window.ShiftedWindowAttention(8, [2, 2], [1, 1], 2))
        self.merge = window.PatchMerging(8)

    def forward(self, x):
        return self.merge(self.blocks(self.embed(x)))


Repeated = nn.Sequential(*[nn.Sequential(nn.Linear(6, 6), nn.ReLU()) for _ in range(3)])
MODELS = [
    (UNet(n_channels=3, n_classes=2), [(1, 3, 64, 64)]),
    (ResNet(), [(1, 3, 32, 32)]),
    (Branchy(), [(2, 3, 16, 16), (2, 3, 16, 16)]),
    (Mixed(), [(2, 4, 8, 8)]),
    (nn.Sequential(Attention(), Attention()), [(2, 5, 8)]),
    (Windows(), [(1, 4, 4, 4)]),
    (Repeated, [(2, 6)]),
]


@pytest.mark.parametrize(("model", "shapes"), MODELS, ids=lambda v: type(v).__name__)
def test_live_keys_equal_the_built_models(model, shapes) -> None:
    result = import_torch(model.eval(), tuple(torch.randn(s) for s in shapes))
    assert live_keys(make_plan(result.design)) == built_keys(result.design)
    built = designer.build(result.design, device="cpu")
    built.load_state_dict(result.state_dict, strict=True)
