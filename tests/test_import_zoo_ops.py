"""Calls of torchvision's models mapped to blocks on import: stochastic_depth (DropPath), a class
token expanded to the batch (ExpandBatch), ConvNeXt's F.layer_norm (LayerNorm) and
F.interpolate to another tensor's size (ResizeLike). Each imports with no opaque node, computes
the same live and as generated code, the weights loaded strictly."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from codegen_helpers import exec_source
from torch import fx, nn

import designer
from designer.interop.importer import ImportFailed, import_torch


def stochastic_depth(input, p, mode, training=True):
    """A stand-in for torchvision.ops.stochastic_depth (torchvision is not installed here)."""
    if not training or p == 0.0:
        return input
    keep = 1.0 - p
    noise = input.new_empty([input.shape[0]] + [1] * (input.dim() - 1)).bernoulli_(keep)
    return input * noise.div_(keep)


stochastic_depth.__module__ = "torchvision.ops.stochastic_depth"
fx.wrap("stochastic_depth")


class Residual(nn.Module):
    def __init__(self, mode: str = "row") -> None:
        super().__init__()
        self.conv, self.mode = nn.Conv2d(3, 3, 3, padding=1), mode

    def forward(self, x):
        return x + stochastic_depth(self.conv(x), 0.2, self.mode, self.training)


class ClassToken(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.class_token = nn.Parameter(torch.randn(1, 1, 8))
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        x = self.proj(x)
        n = x.shape[0]
        return torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)


class LayerNorm2d(nn.LayerNorm):
    """ConvNeXt's: LayerNorm over the channels at each position."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.norm = nn.Conv2d(3, 4, 1), LayerNorm2d(4, eps=1e-6)

    def forward(self, x):
        return self.norm(self.conv(x))


class Head(nn.Module):
    """A segmentation head: features at half size, resized back to the input's size."""

    def __init__(self, mode: str = "bilinear") -> None:
        super().__init__()
        self.conv, self.mode = nn.Conv2d(3, 2, 3, stride=2, padding=1), mode

    def forward(self, x):
        size = x.shape[-2:]
        corners = None if self.mode == "nearest" else False
        return F.interpolate(self.conv(x), size=size, mode=self.mode, align_corners=corners)


def _randomized(module: nn.Module) -> nn.Module:
    with torch.no_grad():
        for tensor in module.parameters():
            tensor.copy_(torch.randn_like(tensor) * 0.5)
    return module.eval()


def _imported(module: nn.Module, x: torch.Tensor):
    """The import, checked: no opaque node, same outputs live and generated, strict weights."""
    module = _randomized(module)
    result = import_torch(module, (x,))
    assert not result.opaque
    with torch.no_grad():
        want = module(x)
        live = designer.build(result.design, device="cpu")
        live.load_state_dict(result.state_dict, strict=True)
        torch.testing.assert_close(live.eval()(x), want)
        source = designer.generate_code(result.design, class_name="Imported")
        generated = exec_source(source)["Imported"]()
        generated.load_state_dict(result.state_dict, strict=True)
        torch.testing.assert_close(generated.eval()(x), want)
    return result


def _types(result) -> list[str]:
    design = result.design
    found = [design.node(n)["type"] for n in design.node_ids()]
    for block in design.blocks.values():
        found += [block.body.node(n)["type"] for n in block.body.node_ids()]
    return found


def test_stochastic_depth_row_is_drop_path():
    result = _imported(Residual(), torch.randn(2, 3, 5, 5))
    (node,) = [n for n in result.design.node_ids() if result.design.node(n)["type"] == "DropPath"]
    assert result.design.node(node)["params"]["p"] == pytest.approx(0.2)


def test_stochastic_depth_batch_mode_is_refused():
    with pytest.raises(ImportFailed, match="whole batch"):
        import_torch(Residual("batch").eval(), (torch.randn(2, 3, 5, 5),))


def test_class_token_expanded_to_the_batch_is_expand_batch():
    result = _imported(ClassToken(), torch.randn(2, 4, 8))
    assert "ExpandBatch" in _types(result)
    live = designer.build(result.design, device="cpu")
    live.load_state_dict(result.state_dict, strict=True)
    assert live.eval()(torch.randn(3, 4, 8)).shape == (3, 5, 8)  # any batch


def test_layer_norm_with_the_module_weights_is_layer_norm():
    result = _imported(ConvNorm(), torch.randn(2, 3, 4, 5))
    types = _types(result)
    assert "LayerNorm" in types and "Parameter" not in types


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_interpolate_to_another_size_is_resize_like(mode):
    result = _imported(Head(mode), torch.randn(2, 3, 9, 7))
    assert "ResizeLike" in _types(result)
    live = designer.build(result.design, device="cpu")
    live.load_state_dict(result.state_dict, strict=True)
    assert live.eval()(torch.randn(1, 3, 11, 6)).shape == (1, 2, 11, 6)


class Doubled(nn.Module):
    """A size read from a tensor, but not its spatial size: no block resizes so."""

    def forward(self, x):
        return F.interpolate(x, size=(x.shape[2] * 2, x.shape[3] * 2))


def test_interpolate_to_another_computed_size_is_refused():
    with pytest.raises(ImportFailed, match="sizes read from a tensor in a way no block does"):
        import_torch(Doubled(), (torch.randn(2, 3, 4, 5),))


def test_scaled_model_resizes_like_its_input():
    """tests/import_models.py's Scaled: its resize to the input's size is ResizeLike now."""
    from import_models import Scaled

    result = _imported(Scaled(), torch.randn(2, 3, 8, 8))
    assert "ResizeLike" in _types(result)


def test_hardsigmoid_gates_import_as_blocks():
    """MobileNetV3's squeeze-excitation gate: nn.Hardsigmoid and F.hardsigmoid are blocks."""

    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 1)
            self.gate = nn.Hardsigmoid()

        def forward(self, x):
            return x * self.gate(self.conv(x)) + nn.functional.hardsigmoid(x)

    model, x = Gate().eval(), torch.randn(2, 4, 5, 5)
    result = import_torch(model, x)
    assert not result.opaque
    types = [result.design.node(n)["type"] for n in result.design.node_ids()]
    assert types.count("Hardsigmoid") == 2
    live = designer.build(result.design, "cpu")
    live.load_state_dict(result.state_dict, strict=True)
    with torch.no_grad():
        assert torch.allclose(live.eval()(x), model(x), atol=1e-6)


class Swapped(nn.Module):
    """MaxViT's SwapAxes and its spellings: torch.swapaxes, Tensor.swapdims."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(5, 4)

    def forward(self, x):
        x = torch.swapaxes(x, -2, -1)  # N x 3 x 6 x 5
        return self.proj(x).swapdims(1, 2)


def test_swapaxes_and_swapdims_are_transposes():
    result = _imported(Swapped(), torch.randn(2, 3, 5, 6))
    assert _types(result).count("Transpose") == 2
