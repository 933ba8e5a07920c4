"""ONNX import of attention: the module scope of a MultiheadAttention, decomposed by torch's
exporters into MatMul/Reshape/Softmax chains, comes back as one MultiheadAttention block with
its heads, causal mask, bias and weights; what does not fit is refused naming the module."""

from __future__ import annotations

import pytest
import torch
from test_import_onnx import check_module, torch_export
from torch import nn

from designer.interop.importer import ImportFailed
from designer.interop.onnx_import import import_onnx
from designer.live.layers.attention import Attention


class SelfAttention(nn.Module):
    def __init__(self, heads: int = 4, causal: bool = False, bias: bool = True):
        super().__init__()
        self.norm = nn.LayerNorm(16)
        self.attn = Attention(16, heads, causal=causal, bias=bias)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(x + self.attn(self.norm(x)))


def attention_params(result) -> dict:
    design = result.design
    (node,) = [n for n in design.node_ids() if design.node(n)["type"] == "MultiheadAttention"]
    return {"num_heads": 8, "causal": False, "bias": True, **design.node(node)["params"]}


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "torchscript"])
def test_multihead_attention_becomes_one_block(dynamo):
    result = check_module(SelfAttention(heads=4), (torch.randn(2, 5, 16),), dynamo)
    params = attention_params(result)
    assert (params["num_heads"], params["causal"], params["bias"]) == (4, False, True)
    assert "attn.in_proj_weight" in result.state_dict


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "torchscript"])
def test_a_causal_attention_without_bias_keeps_both(dynamo):
    model = SelfAttention(2, causal=True, bias=False)
    result = check_module(model, (torch.randn(1, 6, 16),), dynamo)
    params = attention_params(result)
    assert (params["num_heads"], params["causal"], params["bias"]) == (2, True, False)


class CrossAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 2, kdim=8, vdim=8, batch_first=True)

    def forward(self, x):
        memory = x[:, :, :8]
        return self.attn(x, memory, memory, need_weights=False)[0]


def test_attention_over_another_input_is_refused_naming_the_module():
    data = torch_export(CrossAttention().eval(), (torch.randn(1, 4, 16),), dynamo=True)
    with pytest.raises(ImportFailed, match=r"module attn \(MultiheadAttention\)"):
        import_onnx(data)


class Scores(nn.Module):
    """A softmax in a module of its own: no attention, converted node by node."""

    def __init__(self):
        super().__init__()
        self.probs = nn.Sequential(nn.Linear(16, 4), nn.Softmax(-1))

    def forward(self, x):
        return self.probs(x)


def test_a_softmax_module_that_is_no_attention_converts_node_by_node():
    result = check_module(Scores(), (torch.randn(2, 5, 16),), dynamo=False)
    types = {result.design.node(n)["type"] for n in result.design.node_ids()}
    types |= {op.block for b in result.blocks for op in b.ops}
    assert {"Linear", "Softmax"} <= types and "MultiheadAttention" not in types


class TinyViT(nn.Module):
    """Patches, a class token repeated over the batch, positions, two pre-norm encoder layers."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 4, 4)
        self.cls = nn.Parameter(torch.randn(1, 1, 16))
        self.pos = nn.Parameter(torch.randn(1, 17, 16))
        layer = nn.TransformerEncoderLayer(
            16, 2, 32, 0.0, batch_first=True, norm_first=True, activation="gelu"
        )
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], 1) + self.pos
        return self.head(self.encoder(tokens)[:, 0])


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "torchscript"])
def test_a_vision_transformer_exported_by_torch_imports_and_matches(dynamo):
    result = check_module(TinyViT(), (torch.randn(1, 3, 16, 16),), dynamo)
    types = {op.block for b in result.blocks for op in b.ops}
    types |= {result.design.node(n)["type"] for n in result.design.node_ids()}
    assert {"MultiheadAttention", "ExpandBatch", "Parameter", "Select"} <= types
