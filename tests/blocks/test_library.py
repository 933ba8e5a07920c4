"""The composite library (designer/blocks/library/unet.json) against a hand-written torch reference
of the seed's U-Net parts: DoubleConv, Down, Up (transposed and bilinear) and OutConv agree on
output shapes and parameter counts, and so do the two example U-Nets."""

from __future__ import annotations

from pathlib import Path

import pytest

from designer.blocks import REGISTRY
from designer.core.fileformat import load
from designer.core.validate import validate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def reference_parts():
    """The seed's four parts, re-expressed: each takes the channel counts the seed passes."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    def double_conv(c_in: int, c_out: int, c_mid: int | None = None) -> nn.Module:
        c_mid = c_mid or c_out
        layers = []
        for a, b in ((c_in, c_mid), (c_mid, c_out)):
            layers += [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
        return nn.Sequential(*layers)

    def down(c_in: int, c_out: int) -> nn.Module:
        return nn.Sequential(nn.MaxPool2d(2), double_conv(c_in, c_out))

    class Up(nn.Module):
        """Upsample the deeper map, pad it to the skip's size, join them, convolve twice."""

        def __init__(self, c_in: int, c_out: int, bilinear: bool) -> None:
            super().__init__()
            if bilinear:
                self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
                self.conv = double_conv(c_in, c_out, c_in // 2)
            else:
                self.up = nn.ConvTranspose2d(c_in, c_in // 2, kernel_size=2, stride=2)
                self.conv = double_conv(c_in, c_out)

        def forward(self, deep, skip):
            deep = self.up(deep)
            dh, dw = skip.shape[2] - deep.shape[2], skip.shape[3] - deep.shape[3]
            deep = F.pad(deep, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
            return self.conv(torch.cat([skip, deep], dim=1))

    def out_conv(c_in: int, c_out: int) -> nn.Module:
        return nn.Conv2d(c_in, c_out, kernel_size=1)

    return double_conv, down, Up, out_conv


def reference_unet(n_channels: int, n_classes: int, bilinear: bool):
    """The seed's whole U-Net from the reference parts."""
    from torch import nn

    double_conv, down, Up, out_conv = reference_parts()
    f = 2 if bilinear else 1
    return nn.ModuleList(
        [
            double_conv(n_channels, 64),
            down(64, 128),
            down(128, 256),
            down(256, 512),
            down(512, 1024 // f),
            Up(1024, 512 // f, bilinear),
            Up(512, 256 // f, bilinear),
            Up(256, 128 // f, bilinear),
            Up(128, 64, bilinear),
            out_conv(64, n_classes),
        ]
    )


def ours(block: str, params: dict, shapes: list[tuple]) -> tuple[list[tuple], int]:
    """The registry's output shapes and parameter count for a composite block."""
    spec = REGISTRY.get(block)
    values, errors = spec.resolve(params)
    assert not errors
    return spec.shape(values, shapes), spec.count(values, shapes)


def theirs(module, *inputs: tuple[int, ...]) -> tuple[list[tuple], int]:
    """The reference module's output shape (on random inputs) and parameter count."""
    import torch

    with torch.no_grad():
        out = module.eval()(*(torch.randn(s) for s in inputs))
    return [tuple(out.shape)], sum(p.numel() for p in module.parameters())


def _batched(shape: tuple, batch: int = 2) -> tuple:
    return (batch, *shape[1:])


@pytest.mark.parametrize(
    ("c_in", "c_out", "c_mid", "size"),
    [(3, 8, None, (9, 7)), (16, 4, 6, (4, 4)), (1, 1, 2, (1, 2))],
)
def test_double_conv_matches_reference(c_in, c_out, c_mid, size) -> None:
    double_conv = reference_parts()[0]
    x = (None, c_in, *size)
    shapes, count = ours("DoubleConv", {"out_channels": c_out, "mid_channels": c_mid}, [x])
    ref_shapes, ref_count = theirs(double_conv(c_in, c_out, c_mid), _batched(x))
    assert [_batched(s) for s in shapes] == ref_shapes
    assert count == ref_count


@pytest.mark.parametrize(
    ("c_in", "c_out", "size"), [(4, 8, (8, 8)), (3, 5, (9, 5)), (2, 2, (2, 3))]
)
def test_down_matches_reference(c_in, c_out, size) -> None:
    down = reference_parts()[1]
    x = (None, c_in, *size)
    shapes, count = ours("Down", {"out_channels": c_out}, [x])
    ref_shapes, ref_count = theirs(down(c_in, c_out), _batched(x))
    assert [_batched(s) for s in shapes] == ref_shapes
    assert count == ref_count


@pytest.mark.parametrize("bilinear", [False, True])
@pytest.mark.parametrize(
    ("c_deep", "c_out", "deep", "skip"),
    [(8, 4, (4, 4), (8, 8)), (16, 6, (5, 7), (11, 14)), (4, 4, (1, 2), (3, 4))],
)
def test_up_matches_reference(bilinear, c_deep, c_out, deep, skip) -> None:
    """The seed's Up(in_channels, ...) counts channels after the join: the deep map brings
    in_channels (halved by the transposed convolution) or in_channels / 2 (bilinear), and the skip
    in_channels / 2."""
    Up = reference_parts()[2]
    c_in = c_deep if not bilinear else 2 * c_deep
    x1, x2 = (None, c_deep, *deep), (None, c_in // 2, *skip)
    shapes, count = ours("Up", {"out_channels": c_out, "bilinear": bilinear}, [x1, x2])
    ref_shapes, ref_count = theirs(Up(c_in, c_out, bilinear), _batched(x1), _batched(x2))
    assert [_batched(s) for s in shapes] == ref_shapes
    assert count == ref_count


@pytest.mark.parametrize(("c_in", "c_out"), [(64, 2), (3, 1), (5, 7)])
def test_out_conv_matches_reference(c_in, c_out) -> None:
    out_conv = reference_parts()[3]
    x = (None, c_in, 3, 5)
    shapes, count = ours("OutConv", {"out_channels": c_out}, [x])
    ref_shapes, ref_count = theirs(out_conv(c_in, c_out), _batched(x))
    assert [_batched(s) for s in shapes] == ref_shapes
    assert count == ref_count


@pytest.mark.parametrize(("name", "bilinear"), [("unet", False), ("unet_bilinear", True)])
def test_example_unet_count_matches_reference(name, bilinear) -> None:
    """The example designs built from the library count what the seed's U-Net holds."""
    import torch

    with torch.device("meta"):
        reference = reference_unet(3, 2, bilinear)
    report = validate(load(EXAMPLES / f"{name}.json"))
    assert report.ok
    assert report.total_params == sum(p.numel() for p in reference.parameters())


@pytest.mark.parametrize(("dim", "patch", "size"), [(16, 4, (8, 8)), (8, 3, (9, 6))])
def test_patch_embedding_matches_reference(dim, patch, size) -> None:
    """A strided convolution, flattened, tokens first: N×(H/p·W/p)×dim."""
    from torch import nn

    class Patches(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Conv2d(3, dim, patch, patch)

        def forward(self, x):
            return self.proj(x).flatten(2).transpose(1, 2)

    x = (None, 3, *size)
    shapes, count = ours("PatchEmbedding", {"embed_dim": dim, "patch_size": patch}, [x])
    ref_shapes, ref_count = theirs(Patches(), _batched(x))
    assert [_batched(s) for s in shapes] == ref_shapes
    assert count == ref_count


@pytest.mark.parametrize(("width", "heads", "ratio"), [(16, 4, 4), (12, 3, 2)])
def test_transformer_block_matches_reference(width, heads, ratio) -> None:
    """The pre-norm block has the parameters of torch's norm-first encoder layer (GELU)."""
    from torch import nn

    reference = nn.TransformerEncoderLayer(
        width, heads, width * ratio, 0.0, "gelu", batch_first=True, norm_first=True
    )
    x = (None, 7, width)
    params = {"num_heads": heads, "mlp_ratio": ratio, "causal": True}
    shapes, count = ours("TransformerBlock", params, [x])
    ref_shapes, ref_count = theirs(reference, _batched(x))
    assert [_batched(s) for s in shapes] == ref_shapes
    assert count == ref_count


REFERENCES = {  # every library block and the test comparing it with the reference
    "DoubleConv": test_double_conv_matches_reference,
    "Down": test_down_matches_reference,
    "Up": test_up_matches_reference,
    "OutConv": test_out_conv_matches_reference,
    "PatchEmbedding": test_patch_embedding_matches_reference,
    "TransformerBlock": test_transformer_block_matches_reference,
}
