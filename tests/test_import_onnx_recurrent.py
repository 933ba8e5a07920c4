"""ONNX import of recurrent layers: the module scope of an LSTM, GRU or RNN (ONNX's time-major
node, its gates reordered, between transposes) comes back as one block of that type with torch's
weights; what does not fit is refused naming the module."""

from __future__ import annotations

import pytest
import torch
from test_import_onnx import check_module, torch_export
from torch import nn

from designer.interop.importer import ImportFailed
from designer.interop.onnx_import import import_onnx


class Recurrent(nn.Module):
    def __init__(self, kind: str, returns: int = 0, **options):
        super().__init__()
        self.rnn = getattr(nn, kind)(6, 8, batch_first=True, **options)
        self.returns = returns

    def forward(self, x):
        out = self.rnn(x)
        return out[0] if self.returns == 0 else out[1][0]


def block_params(result, kind: str) -> dict:
    design = result.design
    (node,) = [n for n in design.node_ids() if design.node(n)["type"] == kind]
    return design.node(node)["params"]


CASES = {  # block, options, exporter
    "lstm, two layers both ways": ("LSTM", {"num_layers": 2, "bidirectional": True}, True),
    "lstm without bias, torchscript": ("LSTM", {"bias": False}, False),
    "gru": ("GRU", {"num_layers": 2}, True),
    "rnn with relu, torchscript": ("RNN", {"nonlinearity": "relu", "bidirectional": True}, False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_recurrent_layer_becomes_its_block(case):
    kind, options, dynamo = CASES[case]
    result = check_module(Recurrent(kind, **options), (torch.randn(2, 7, 6),), dynamo)
    params = block_params(result, kind)
    assert params["hidden_size"] == 8
    for name, value in options.items():
        assert params.get(name, {"num_layers": 1, "bias": True}.get(name)) == value


def test_the_final_state_read_instead_of_the_output_is_refused():
    data = torch_export(Recurrent("LSTM", returns=1).eval(), (torch.randn(1, 5, 6),), dynamo=True)
    with pytest.raises(ImportFailed, match=r"module rnn \(recurrent layer\)"):
        import_onnx(data)


def test_a_recurrent_layer_unrolled_by_the_exporter_is_refused_with_the_reason():
    model = Recurrent("RNN", nonlinearity="relu").eval()
    data = torch_export(model, (torch.randn(1, 4, 6),), dynamo=True)
    with pytest.raises(ImportFailed, match="unrolls the steps"):
        import_onnx(data)


class TinyLanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(30, 16)
        self.lstm = nn.LSTM(16, 12, batch_first=True, num_layers=2)
        self.head = nn.Linear(12, 30)

    def forward(self, ids):
        return self.head(self.lstm(self.embed(ids))[0])


def test_token_ids_through_an_embedding_and_an_lstm_import_and_match():
    result = check_module(TinyLanguageModel(), (torch.randint(0, 30, (1, 7)),), dynamo=False)
    assert block_params(result, "LSTM")["num_layers"] == 2
    assert result.design.node("in0")["params"]["dtype"] == "int64"
