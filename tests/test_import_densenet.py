"""DenseNet-style models: a submodule called with a Python list of tensors imports as blocks."""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from import_models import randomized
from test_import_more import check_same_model
from torch import Tensor, nn

from designer.interop.importer import import_torch


class DenseLayer(nn.Module):
    """Called with the list of every feature map so far (torchvision's ``_DenseLayer``)."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int, drop_rate=0.0):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)
        self.drop_rate = float(drop_rate)

    def bn_function(self, inputs: list[Tensor]) -> Tensor:
        return self.conv1(self.relu1(self.norm1(torch.cat(inputs, 1))))

    def forward(self, input: Tensor | list[Tensor]) -> Tensor:
        prev_features = [input] if isinstance(input, Tensor) else input
        out = self.conv2(self.relu2(self.norm2(self.bn_function(prev_features))))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        return out


class DenseBlock(nn.ModuleDict):
    """A ModuleDict with its own forward: the list grows by one feature map per layer."""

    def __init__(self, num_layers: int, num_input_features: int, growth_rate: int) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(num_input_features + i * growth_rate, growth_rate, 2)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features: Tensor) -> Tensor:
        features = [init_features]
        for _, layer in self.items():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, 1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    def __init__(self, growth_rate=4, block_config=(3, 2), num_init_features=8, classes=5):
        super().__init__()
        layers: list[tuple[str, nn.Module]] = [
            ("conv0", nn.Conv2d(3, num_init_features, 3, padding=1, bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
        ]
        features = num_init_features
        for i, num_layers in enumerate(block_config):
            layers.append((f"denseblock{i + 1}", DenseBlock(num_layers, features, growth_rate)))
            features += num_layers * growth_rate
            if i != len(block_config) - 1:
                layers.append((f"transition{i + 1}", Transition(features, features // 2)))
                features //= 2
        layers.append(("norm5", nn.BatchNorm2d(features)))
        self.features = nn.Sequential(OrderedDict(layers))
        self.classifier = nn.Linear(features, classes)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.features(x), inplace=True)
        out = torch.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


class Pair(nn.Module):
    """Always called with a tuple of two tensors: one block with a port per item."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(6, 3, 1)

    def forward(self, pair: tuple[Tensor, Tensor]) -> Tensor:
        return self.conv(torch.cat(pair, 1))


class Pairs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = Pair(), Pair()

    def forward(self, x: Tensor) -> Tensor:
        y = self.a((x, F.relu(x)))
        return self.b((y, x))


def test_densenet_imports_with_its_dense_blocks_and_round_trips():
    model = randomized(DenseNet())
    inputs = (torch.randn(2, 3, 8, 8),)
    result = import_torch(model, inputs)
    assert not result.opaque
    assert [b.name for b in result.blocks] == ["DenseBlock", "DenseBlock_2"]
    block = next(b for b in result.blocks if b.name == "DenseBlock")
    ids = [op.id for op in block.ops]
    assert ids[:3] == ["denselayer1_norm1", "denselayer1_relu1", "denselayer1_conv1"]
    concats = [op for op in block.ops if op.block == "Concat"]
    assert len(concats) == 3  # layers 2 and 3, and the block's
    # each extends the one before: one more feature map, not every one so far
    assert [len(op.inputs) for op in concats] == [2, 2, 2]
    assert concats[2].inputs[0] == (concats[1].id, "out")
    assert any("DenseLayer is called with lists of 1 to 3 tensors" in n for n in result.notes)
    check_same_model(model, inputs, result)


def test_alike_dense_blocks_share_one_block():
    model = randomized(DenseNet(growth_rate=2, block_config=(2, 2, 2), num_init_features=4))
    result = import_torch(model, (torch.randn(1, 3, 8, 8),))
    assert len(result.blocks) == 1  # the three dense blocks are alike
    check_same_model(model, (torch.randn(3, 3, 8, 8),), result)


def test_a_module_always_called_with_two_tensors_takes_one_port_each():
    model = randomized(Pairs())
    inputs = (torch.randn(2, 3, 4, 4),)
    result = import_torch(model, inputs)
    assert [b.name for b in result.blocks] == ["Pair"]
    assert [p for p, _ in result.blocks[0].inputs] == ["pair1", "pair2"]
    check_same_model(model, inputs, result)
