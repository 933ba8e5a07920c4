"""Swin Transformer imports as blocks: window attention and patch merging (torchvision's classes,
recognised by qualified name) map to the blocks of designer/blocks/window.py, with the weights
and buffers as they are. CI has no torchvision: a small Swin-like model stands in, its layers in
a module of its own whose classes the test adds to the importer's FOREIGN table; torchvision's
own SwinTransformer is imported too where it is installed."""

from __future__ import annotations

import sys
import types as pytypes

import pytest
import torch
from codegen_helpers import exec_source
from import_models import randomized
from torch import nn

import designer
from designer import DesignBuilder
from designer.interop.importer import import_torch
from designer.interop.importer.foreign import FOREIGN, SWIN
from designer.live.layers import window

FAKE = "swin_like_layers"  # the module the stand-in layers claim to come from
LAYERS = ("ShiftedWindowAttention", "ShiftedWindowAttentionV2", "PatchMerging", "PatchMergingV2")
WINDOW_BLOCKS = set(LAYERS)


def _fake_layers() -> pytypes.ModuleType:
    """Layers with torchvision's fields and state dicts, as classes of another library."""
    module = pytypes.ModuleType(FAKE)
    for name in LAYERS:
        cls = type(name, (getattr(window, name),), {"__module__": FAKE})
        setattr(module, name, cls)
    return module


@pytest.fixture
def swin(monkeypatch) -> pytypes.ModuleType:
    """The stand-in layers, known to the importer by the entries torchvision's classes have."""
    module = _fake_layers()
    monkeypatch.setitem(sys.modules, FAKE, module)
    for name in LAYERS:
        monkeypatch.setitem(FOREIGN, f"{FAKE}.{name}", FOREIGN[f"{SWIN}.{name}"])
    return module


class Permute(nn.Module):
    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)


class SwinBlock(nn.Module):
    """torchvision's SwinTransformerBlock (v1: norm before; v2: norm after), no stochastic depth."""

    def __init__(self, layers, dim: int, heads: int, shift: int, v2: bool):
        super().__init__()
        attention = layers.ShiftedWindowAttentionV2 if v2 else layers.ShiftedWindowAttention
        self.v2 = v2
        self.norm1 = nn.LayerNorm(dim)
        self.attn = attention(dim, [3, 3], [shift, shift], heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        if self.v2:
            x = x + self.norm1(self.attn(x))
            return x + self.norm2(self.mlp(x))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SwinLike(nn.Module):
    """Patches, two blocks (unshifted, shifted), patch merging, one block, pooled head."""

    def __init__(self, layers, v2: bool):
        super().__init__()
        merge = layers.PatchMergingV2 if v2 else layers.PatchMerging
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, 8, 2, stride=2), Permute([0, 2, 3, 1]), nn.LayerNorm(8)),
            nn.Sequential(SwinBlock(layers, 8, 2, 0, v2), SwinBlock(layers, 8, 2, 1, v2)),
            merge(8),
            nn.Sequential(SwinBlock(layers, 16, 4, 0, v2)),
        )
        self.norm = nn.LayerNorm(16)
        self.permute = Permute([0, 3, 1, 2])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(16, 5))

    def forward(self, x):
        return self.head(self.permute(self.norm(self.features(x))))


def all_types(design) -> set[str]:
    """Block types of the design's nodes and of its blocks' bodies."""
    bodies = [design, *(block.body for block in design.blocks.values())]
    return {body.node(n)["type"] for body in bodies for n in body.node_ids()}


def assert_same_model(module: nn.Module, x: torch.Tensor, result) -> None:
    """Live model and generated code load the weights strictly and compute what module does."""
    with torch.no_grad():
        want = module.eval()(x)
        live = designer.build(result.design, device="cpu")
        live.load_state_dict(result.state_dict, strict=True)
        torch.testing.assert_close(live.eval()(x), want, rtol=0, atol=1e-5)
        source = designer.generate_code(result.design, class_name="Imported")
        generated = exec_source(source)["Imported"]()
        generated.load_state_dict(result.state_dict, strict=True)
        torch.testing.assert_close(generated.eval()(x), want, rtol=0, atol=1e-5)
    assert source.isascii()


@pytest.mark.parametrize("v2", [False, True])
def test_a_swin_like_model_imports_as_window_blocks(swin, v2) -> None:
    module = randomized(SwinLike(swin, v2))
    x = torch.randn(2, 3, 20, 18)  # a 10 x 9 map: windows of 3 fit, after merging 5 x 5 do not
    result = import_torch(module, (x,))
    assert result.opaque == []
    found = all_types(result.design) & WINDOW_BLOCKS
    assert found == ({"ShiftedWindowAttentionV2", "PatchMergingV2"} if v2 else WINDOW_BLOCKS - {
        "ShiftedWindowAttentionV2", "PatchMergingV2"})  # fmt: skip
    index = "relative_position_index"
    assert sum(key.endswith(index) for key in result.state_dict) == 3  # buffers kept
    assert_same_model(module, x, result)


def test_the_readers_take_torchvisions_fields(swin) -> None:
    layer = swin.ShiftedWindowAttentionV2(8, [4, 3], [2, 1], 2, proj_bias=False, dropout=0.25)
    block, read, ports = FOREIGN[f"{SWIN}.ShiftedWindowAttentionV2"]
    assert (block, ports) == ("ShiftedWindowAttentionV2", None)
    assert read(layer) == {
        "window_size": (4, 3),
        "shift_size": (2, 1),
        "num_heads": 2,
        "qkv_bias": True,
        "proj_bias": False,
        "attention_dropout": 0.0,
        "dropout": 0.25,
    }
    merge = swin.PatchMerging(4, eps=1e-6)
    assert FOREIGN[f"{SWIN}.PatchMerging"][1](merge) == {"eps": 1e-6}


def test_a_built_design_imports_back_to_its_window_blocks() -> None:
    b = DesignBuilder("swin_stage")
    x = b.input((6, 6, 8))
    h = b.add("ShiftedWindowAttention", x, node_id="attn", window_size=3, shift_size=1, num_heads=2)
    h = b.add("PatchMergingV2", h, node_id="merge")
    b.output(b.add("ShiftedWindowAttentionV2", h, node_id="attn2", window_size=2, num_heads=4))
    design = b.build()
    live = randomized(designer.build(design, device="cpu"))
    x = torch.randn(2, 6, 6, 8)
    result = import_torch(live, (x,))
    assert result.opaque == []
    kinds = [result.design.node(n)["type"] for n in result.design.node_ids()]
    assert kinds == [
        "Input", "ShiftedWindowAttention", "PatchMergingV2", "ShiftedWindowAttentionV2", "Output",
    ]  # fmt: skip
    attention = result.design.node(result.design.node_ids()[1])
    assert attention["params"]["shift_size"] == 1 and attention["params"]["window_size"] == 3
    assert_same_model(live, x, result)


def test_torchvisions_swin_imports_where_installed() -> None:
    models = pytest.importorskip("torchvision.models.swin_transformer")
    for v2 in (False, True):
        extra = (
            {"block": models.SwinTransformerBlockV2, "downsample_layer": models.PatchMergingV2}
            if v2
            else {}
        )
        module = models.SwinTransformer([4, 4], 16, [2, 2], [2, 4], [3, 3], num_classes=5, **extra)
        module = randomized(module)
        x = torch.randn(1, 3, 32, 36)
        result = import_torch(module, (x,))
        assert result.opaque == []
        assert ("PatchMergingV2" if v2 else "PatchMerging") in all_types(result.design)
        assert_same_model(module, x, result)
