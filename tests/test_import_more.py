"""Importing beyond CNNs: attention, recurrent and embedding layers, tensor plumbing, repeat
nodes, torch.export (the fallback for what fx cannot trace, and .pt2 files), the shared
``import_source`` behind ``designer import`` and File › Import, and its headless core."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from import_models import ResNet, check_same_model, randomized
from torch import nn

import designer
from designer.cli import main
from designer.interop.importer import ImportFailed, import_exported, import_torch
from designer.interop.importer.source import (
    SourceError,
    default_output,
    import_source,
    parse_example,
)


def types(design) -> list[str]:
    return [design.node(n)["type"] for n in design.node_ids()]


# -- models written here ---------------------------------------------------------------------------


class Attention(nn.Module):
    """Causal self-attention written out: split into three, view, transpose, @, a scale."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        y = F.softmax(att, dim=-1) @ v
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class GPTBlock(nn.Module):
    """Pre-norm: hand-written attention, then nn.MultiheadAttention, then an MLP."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.mha = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        h = self.ln2(x)
        a, _ = self.mha(h, h, h, need_weights=False)
        x = x + a
        return x + self.mlp(self.ln3(x))


class TinyGPT(nn.Module):
    """Token and position embeddings, four alike blocks, a head tied to the token embedding."""

    def __init__(self, vocab: int = 40, dim: int = 16, heads: int = 2, length: int = 8):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(1, length, dim) * 0.1)
        self.blocks = nn.Sequential(*[GPTBlock(dim, heads) for _ in range(4)])
        self.ln = nn.LayerNorm(dim)

    def forward(self, idx):
        x = self.blocks(self.tok(idx) + self.pos)
        return F.linear(self.ln(x), self.tok.weight)


class LSTMClassifier(nn.Module):
    """Token ids -> Embedding -> a bidirectional two-layer LSTM -> its last step -> classes."""

    def __init__(self, vocab: int = 30, dim: int = 8, hidden: int = 12, classes: int = 3):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, ids):
        out, (_h, _c) = self.lstm(self.embed(ids))
        return F.log_softmax(self.fc(self.drop(out[:, -1])), dim=-1)


class Relay(nn.Module):
    """A GRU whose final state starts an RNN: the state goes to the RNN's h0 port."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(6, 10, batch_first=True)
        self.rnn = nn.RNN(10, 10, batch_first=True, nonlinearity="relu")

    def forward(self, x):
        out, h = self.gru(x)
        out, h = self.rnn(out, h)
        return out, h


class Encoder(nn.Module):
    """Four alike Transformer encoder layers in an nn.Sequential."""

    def __init__(self, dim: int = 16):
        super().__init__()
        self.inp = nn.Linear(6, dim)
        layers = [nn.TransformerEncoderLayer(dim, 2, 32, 0.1, batch_first=True) for _ in range(4)]
        self.layers = nn.Sequential(*layers)
        self.out = nn.Linear(dim, 2)

    def forward(self, x):
        return self.out(self.layers(self.inp(x)).mean(dim=1))


class Plumbing(nn.Module):
    """The tensor ops fx records that now have blocks, one after another."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)
        self.table = nn.Parameter(torch.randn(10, 4))

    def forward(self, x, ids):  # x: N×6×8, ids: N×6
        h = self.proj(x).permute(0, 2, 1)  # N×8×6
        h = torch.transpose(h, 1, 2).reshape(x.size(0), 6, 2, 4)  # N×6×2×4
        h = h.flatten(2).unsqueeze(1).squeeze(1)  # N×6×8
        a, b = h.chunk(2, dim=-1)  # N×6×4 each
        s = torch.matmul(a, b.transpose(-2, -1))  # N×6×6
        e = F.embedding(ids, self.table)  # N×6×4
        first = h[:, 0]  # N×8
        pooled = s.mean(dim=-1) + s.sum(-1, keepdim=True).squeeze(-1) + s.amax(dim=-1)
        return F.linear(first, self.proj.weight), pooled, e[:, 1:][..., :2] * 2.0 - 1.0


class Odds(nn.Module):
    """Layers of the newer families: shuffles, pixel shuffles, RMSNorm, Softplus, PReLU..."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.shuffle = nn.ChannelShuffle(2)
        self.prelu = nn.PReLU(8)
        self.unshuffle = nn.PixelUnshuffle(2)
        self.drop = nn.Dropout2d(0.1)
        self.up = nn.PixelShuffle(2)
        self.soft = nn.Softplus(beta=2.0)
        self.norm = nn.RMSNorm(8, eps=1e-6)

    def forward(self, x):
        h = self.unshuffle(self.prelu(self.shuffle(self.conv(x))))
        h = self.soft(self.up(self.drop(h)))
        return self.norm(h.permute(0, 2, 3, 1))


class Patches(nn.Module):
    """fx cannot trace it: ``int(math.sqrt(n))`` needs the real size. torch.export can."""

    def __init__(self, channels: int = 8):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        side = int(math.sqrt(x.shape[1]))
        grid = x.transpose(1, 2).reshape(x.shape[0], x.shape[2], side, side)
        return F.relu(self.bn(self.conv(grid)))


class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(3, 8)
        self.patches = Patches()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(128, 4))

    def forward(self, x):
        return self.head(self.patches(self.embed(x)))


# -- the new families ------------------------------------------------------------------------------


def test_a_gpt_like_model_imports_without_opaque_nodes_and_its_blocks_repeat():
    module = randomized(TinyGPT())
    inputs = (torch.randint(0, 40, (2, 8)),)
    result = import_torch(module, inputs)
    design = result.design
    assert result.opaque == []
    assert design.node("idx")["params"]["dtype"] == "int64"
    assert types(design) == [
        "Input", "Embedding", "Parameter", "Add", "GPTBlock", "LayerNorm", "Parameter",
        "TiedLinear", "Output",
    ]  # fmt: skip
    assert design.node("blocks")["repeat"] == 4  # one node for the four alike blocks
    body = types(design.blocks["GPTBlock"].body)
    assert "MultiheadAttention" in body and "Attention" in body
    attention = types(design.blocks["Attention"].body)
    for block in ("Slice", "Reshape", "Transpose", "MatMul", "Scale", "Softmax"):
        assert block in attention
    assert any(key.startswith("blocks.3.") for key in result.state_dict)
    assert any("tok.weight is also `tok`'s weight" in note for note in result.notes)
    check_same_model(module, inputs, result)


def test_an_lstm_classifier_imports_and_round_trips():
    module = randomized(LSTMClassifier())
    inputs = (torch.randint(0, 30, (2, 7)),)
    result = import_torch(module, inputs)
    assert result.opaque == []
    assert types(result.design) == [
        "Input", "Embedding", "LSTM", "Select", "Dropout", "Linear", "LogSoftmax", "Output",
    ]  # fmt: skip
    lstm = result.design.node("lstm")["params"]
    assert lstm["num_layers"] == 2 and lstm["bidirectional"] is True
    assert result.design.node("embed")["params"]["padding_idx"] == 0
    check_same_model(module, inputs, result)


def test_a_recurrent_state_is_wired_into_the_next_layer():
    module = randomized(Relay())
    inputs = (torch.randn(2, 5, 6),)
    result = import_torch(module, inputs)
    design = result.design
    assert design.inputs_of("rnn") == {"input": ("gru", "out"), "h0": ("gru", "h")}
    assert design.node("rnn")["params"]["nonlinearity"] == "relu"
    check_same_model(module, inputs, result)


def test_transformer_layers_repeat_and_load_under_sequential_keys():
    module = randomized(Encoder())
    inputs = (torch.randn(2, 5, 6),)
    result = import_torch(module, inputs)
    assert types(result.design) == [
        "Input", "Linear", "TransformerEncoderLayer", "Mean", "Linear", "Output",
    ]  # fmt: skip
    layers = result.design.node("layers")
    assert layers["repeat"] == 4 and layers["params"]["dim_feedforward"] == 32
    assert "layers.3.self_attn.in_proj_weight" in result.state_dict
    check_same_model(module, inputs, result)


def test_a_decoder_layer_takes_its_memory_on_the_second_port():
    class Decode(nn.Module):
        def __init__(self):
            super().__init__()
            self.dec = nn.TransformerDecoderLayer(8, 2, 16, 0.0, batch_first=True)

        def forward(self, tgt, memory):
            return self.dec(tgt, memory)

    module = randomized(Decode())
    inputs = (torch.randn(2, 4, 8), torch.randn(2, 6, 8))
    result = import_torch(module, inputs)
    assert result.design.inputs_of("dec") == {"tgt": ("tgt", "out"), "memory": ("memory", "out")}
    check_same_model(module, inputs, result)


def test_tensor_plumbing_becomes_tensor_blocks():
    module = randomized(Plumbing())
    inputs = (torch.randn(2, 6, 8), torch.randint(0, 10, (2, 6)))
    result = import_torch(module, inputs)
    assert result.opaque == []
    found = set(types(result.design))
    wanted = {
        "Permute", "Transpose", "Reshape", "Flatten", "Unsqueeze", "Squeeze", "Split", "MatMul",
        "EmbeddingLookup", "Select", "Mean", "Sum", "Amax", "TiedLinear", "Slice", "Scale",
        "AddScalar", "Parameter",
    }  # fmt: skip
    assert wanted <= found, wanted - found
    check_same_model(module, inputs, result)


def test_layers_of_the_newer_families_map_to_their_blocks():
    module = randomized(Odds())
    inputs = (torch.randn(2, 3, 8, 8),)
    result = import_torch(module, inputs)
    assert result.opaque == []
    assert types(result.design)[1:-1] == [
        "Conv2d", "ChannelShuffle", "PReLU", "PixelUnshuffle", "Dropout2d", "PixelShuffle",
        "Softplus", "Permute", "RMSNorm",
    ]  # fmt: skip
    assert result.design.node("soft")["params"]["beta"] == 2.0
    check_same_model(module, inputs, result)


def test_attention_weights_that_are_used_are_reported():
    class Weights(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            out, weights = self.mha(x, x, x)
            return out, weights

    with pytest.raises(ImportFailed, match="returns no attention weights"):
        import_torch(Weights().eval(), torch.randn(2, 4, 8))


def test_batch_first_false_attention_is_refused_with_the_fix():
    class Late(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(8, 2)

        def forward(self, x):
            return self.mha(x, x, x)[0]

    with pytest.raises(ImportFailed, match="batch_first=True"):
        import_torch(Late().eval(), torch.randn(2, 4, 8))


# -- repeats ---------------------------------------------------------------------------------------


def test_four_identical_layers_in_a_sequential_become_one_repeat_node():
    module = randomized(
        nn.Sequential(nn.Linear(6, 8), *[Unit(8) for _ in range(4)], nn.Linear(8, 2))
    )
    inputs = (torch.randn(2, 6),)
    result = import_torch(module, inputs)
    design = result.design
    assert types(design) == ["Input", "Linear", "Unit", "Linear", "Output"]
    assert design.node("unit")["repeat"] == 4  # unit_1 ... unit_4: named after them
    copies = {k.split(".")[1] for k in result.state_dict if k.startswith("unit.")}
    assert copies == {"0", "1", "2", "3"}  # an nn.Sequential of copies: unit.0.fc_relu.0.weight
    check_same_model(module, inputs, result)


class Unit(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return x + F.relu(self.fc(x))


# -- torch.export ----------------------------------------------------------------------------------


def test_what_fx_cannot_trace_goes_through_torch_export():
    module = randomized(Tokens())
    inputs = (torch.randn(2, 16, 3),)
    result = import_torch(module, inputs)
    assert "Patches" in result.design.blocks  # the hierarchy is kept
    assert types(result.design.blocks["Patches"].body)[1:-1] == [
        "Transpose", "Reshape", "Conv2d", "BatchNorm2d", "ReLU",
    ]  # fmt: skip
    assert any("torch.export" in note for note in result.notes)
    check_same_model(module, inputs, result)


def test_a_pt2_file_imports_with_its_own_example_inputs(tmp_path):
    module = randomized(ResNet(layers=(2, 1, 1), widths=(8, 16, 16)))
    inputs = (torch.randn(2, 3, 16, 16),)
    path = tmp_path / "resnet.pt2"
    torch.export.save(torch.export.export(module, inputs), path)
    result = import_source(str(path))
    assert {"BasicBlock"} == set(result.design.blocks)
    assert result.design.node("layer1")["repeat"] == 2
    check_same_model(module, inputs, result)
    again = import_exported(torch.export.load(path), (torch.randn(3, 3, 16, 16),))
    assert again.design.node("x")["params"]["shape"] == [3, 16, 16]


def test_the_cli_imports_a_pt2_file(tmp_path, capsys):
    module = randomized(ResNet(layers=(1, 1, 1), widths=(8, 8, 16)))
    path = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(module, (torch.randn(2, 3, 16, 16),)), path)
    out = tmp_path / "net.json"
    assert main(["import", str(path), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    from safetensors.torch import load_file

    model = designer.build(designer.load(out), "cpu")
    model.load_state_dict(load_file(tmp_path / "net.safetensors"), strict=True)


def test_a_model_neither_can_trace_names_the_module():
    class Sign(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(ImportFailed, match=r"(?s)the model \(Sign\): tracing.*torch.export"):
        import_torch(Sign(), torch.randn(2, 3))


# -- the shared core -------------------------------------------------------------------------------


def test_examples_parse_with_their_dtypes():
    assert parse_example("2,3,8,8") == ((2, 3, 8, 8), "float32")
    assert parse_example("2x16:int64") == ((2, 16), "int64")
    with pytest.raises(SourceError, match="not a shape"):
        parse_example("2,a")
    with pytest.raises(SourceError, match="unknown dtype"):
        parse_example("2,3:int7")


def test_the_default_design_sits_beside_the_source(tmp_path):
    assert default_output(f"{tmp_path}/nets.py:ResNet") == tmp_path / "ResNet.json"
    assert default_output(f"{tmp_path}/model.pt2") == tmp_path / "model.json"
    assert default_output("torchvision.models:resnet18").name == "resnet18.json"


def test_the_cli_takes_token_ids(tmp_path, capsys):
    source = tmp_path / "lm.py"
    source.write_text(
        "from torch import nn\n\n\ndef lm(vocab=20):\n"
        "    return nn.Sequential(nn.Embedding(vocab, 8), nn.Linear(8, vocab))\n"
    )
    out = tmp_path / "lm.json"
    argv = ["import", f"{source}:lm", "--args", "vocab=12", "--input-shape", "2,5:int64"]
    assert main([*argv, "-o", str(out)]) == 0
    design = designer.load(out)
    (ids,) = design.nodes_of_type("Input")
    assert design.node(ids)["params"] == {"shape": [5], "dtype": "int64"}
    assert main(["import", f"{source}:lm", "--input-shape", "2,5:int7", "-o", str(out)]) == 2
    assert "unknown dtype" in capsys.readouterr().err


def test_keyword_arguments_keep_their_tuples():
    from designer.interop.importer.source import parse_kwargs

    assert parse_kwargs("layers=(2, 1, 1), widths=[8,16], name=net, s='a,b'") == {
        "layers": (2, 1, 1),
        "widths": [8, 16],
        "name": "net",
        "s": "a,b",
    }
    with pytest.raises(SourceError, match="is not NAME=VALUE"):
        parse_kwargs("layers")


# -- File › Import without a window ----------------------------------------------------------------

NETS = """
import torch
from torch import nn


class Res(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)

    def forward(self, x):
        return torch.relu(x + self.bn(self.conv(x)))


class Net(nn.Module):
    def __init__(self, width=4, depth=3):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.body = nn.Sequential(*[Res(width) for _ in range(depth)])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 2))

    def forward(self, x):
        return self.head(self.body(self.stem(x)))


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.mix = nn.Linear(4, 4)

    def forward(self, x, y):
        return self.mix(x) + y
"""


def test_the_import_dialogs_core_writes_the_design_beside_the_source(tmp_path):
    from safetensors.torch import load_file

    from designer.gui.importdialog import import_to

    source = tmp_path / "nets.py"
    source.write_text(NETS)
    done = import_to(f"{source}:Net", "2,3,8,8", "width=6, depth=(3)")
    assert done.design == tmp_path / "Net.json" and done.weights == tmp_path / "Net.safetensors"
    design = designer.load(done.design)
    assert design.node("body")["repeat"] == 3 and set(design.blocks) == {"Res"}
    model = designer.build(design, "cpu")
    model.load_state_dict(load_file(done.weights), strict=True)
    elsewhere = import_to(f"{source}:Net", "2,3,8,8", "", str(tmp_path / "other.json"))
    assert elsewhere.design.exists() and elsewhere.weights.name == "other.safetensors"
    for fields, message in (
        (("",), "give a source"),
        ((f"{tmp_path}/missing.py:Net", "1,3,8,8"), "no such file"),
        ((f"{source}:Pair",), "give an input shape"),
        ((f"{source}:Net", "1,3,8,8", "width"), "is not NAME=VALUE"),
        ((f"{source}:Net", "1,3,8,8", "", str(tmp_path / "no" / "d.json")), "folder that exists"),
    ):
        with pytest.raises(SourceError, match=message):
            import_to(*fields)


def test_without_input_shapes_the_first_layer_gives_one(tmp_path):
    """No shapes given: one input guessed from the first layer with weights, and said so."""
    from designer.interop.importer.source import guess_input, import_source

    source = tmp_path / "nets.py"
    source.write_text(NETS)
    result = import_source(f"{source}:Net", [], {"width": 4, "depth": 2})
    assert result.notes[0].startswith("no input shape given: 1,3,224,224 guessed from the first")
    assert "stem (Conv2d)" in result.notes[0]
    assert guess_input(nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 2)))[0] == ((1, 16), "int64")
    assert guess_input(nn.Sequential(nn.Linear(7, 2)))[0] == ((1, 7), "float32")
    assert guess_input(nn.Sequential(nn.ReLU())) is None


def test_weights_without_values_write_the_design_alone(tmp_path):
    """Weights on the meta device (a model split over cpu/meta) have nothing to save."""
    from designer.interop.importer.source import write_result

    result = import_torch(nn.Sequential(nn.Linear(3, 2)).eval(), (torch.randn(1, 3),))
    result.state_dict = {k: v.to("meta") for k, v in result.state_dict.items()}
    assert write_result(result, tmp_path / "m.json") is None
    assert (tmp_path / "m.json").exists() and not (tmp_path / "m.safetensors").exists()
    assert "no weights file written" in result.notes[-1]


def test_an_imported_blocks_body_is_laid_out_when_opened(tmp_path):
    """Import lays out the model only; a block's body gets its layout when the editor opens it."""
    from designer import Editor
    from designer.core.layout import needs_layout
    from designer.interop.importer.source import import_source, write_result

    source = tmp_path / "nets.py"
    source.write_text(NETS)
    result = import_source(f"{source}:Net", [((1, 3, 8, 8), "float32")], {"width": 4, "depth": 2})
    assert not needs_layout(result.design)
    assert needs_layout(result.design.blocks["Res"].body)
    write_result(result, tmp_path / "net.json")
    editor = Editor()
    editor.open(tmp_path / "net.json")
    instance = next(n for n in editor.design.node_ids() if editor.design.node(n)["type"] == "Res")
    editor.enter(instance)
    assert not needs_layout(editor.design)


class Permuted(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


class ChannelsLastRoundTrip(nn.Module):
    def __init__(self):
        super().__init__()
        self.to_last, self.to_first = Permuted((0, 2, 3, 1)), Permuted((0, 3, 1, 2))
        self.mix = nn.Linear(4, 4)

    def forward(self, x):
        return self.to_first(self.mix(self.to_last(x)))


def test_a_declared_list_of_four_dims_saves_and_opens_again():
    """Two ``Permuted`` instances differ in their four dims: the block declares ``dims`` with a
    four-value default, which the file must keep (a core ``ints`` takes 1 to 3 unless told)."""
    module, x = randomized(ChannelsLastRoundTrip()), torch.randn(2, 4, 5, 6)
    result = import_torch(module, x)
    (block,) = [b for b in result.design.blocks.values() if b.name == "Permuted"]
    (dims,) = [p for p in block.params if p.name == "dims"]
    assert len(dims.default) == 4
    check_same_model(module, (x,), result)  # saves, opens again, then computes the same
