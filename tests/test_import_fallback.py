"""A module whose body holds an op no block expresses is kept whole (by import path), the innermost
one that rebuilds; only when none does, the import fails naming the module and the op."""

from __future__ import annotations

import pytest
import torch
from import_models import randomized
from test_import_more import check_same_model
from torch import nn

from designer.interop.importer import ImportFailed, import_torch
from designer.interop.importer.classify import describe
from designer.interop.importer.fallback import (
    KEPT_BLOCK,
    constructor_kwargs,
    kept_block_registered,
)
from designer.interop.importer.modules import Unsupported


class Rolled(nn.Module):
    """A convolution, then a roll along the width (no block rolls)."""

    def __init__(self, channels: int, shift: int = 1, bias: bool = True) -> None:
        super().__init__()
        self.shift = shift
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=bias)

    def forward(self, x):
        return torch.roll(self.conv(x), self.shift, dims=3)


class Indexed(nn.Module):
    """Reads an int buffer and gathers with it (a relative-position table's index)."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.features = features
        self.table = nn.Parameter(torch.randn(features))
        self.register_buffer("index", torch.arange(features).flip(0))

    def forward(self, x):
        return x + self.table[self.index]


class Squeeze(nn.Module):
    """Keeps neither size: both are read back from its layers' shapes."""

    def __init__(self, input_channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))


class Masked(nn.Module):
    """A leaky step chosen per element from the values (a mask computed at run time)."""

    def __init__(self, slope: float) -> None:
        super().__init__()
        self.slope = slope

    def forward(self, x):
        return torch.where(x > 0, x, x * self.slope)


class Stage(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)
        self.rolled = Rolled(channels, shift=2)

    def forward(self, x):
        return torch.relu(self.rolled(self.norm(x)))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1)
        self.stage = Stage(4)
        self.head = nn.Linear(4, 4)
        self.indexed = Indexed(4)
        self.masked = Masked(0.1)

    def forward(self, x):
        y = self.stage(self.stem(x)).mean((2, 3))
        return self.masked(self.indexed(self.head(y)))


class Unbuildable(nn.Module):
    """Its constructor's argument is not kept on the instance: it cannot be rebuilt."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(size, size, 1)

    def forward(self, x):
        return torch.roll(self.conv(x), 1, dims=2)


class Outer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = Unbuildable(3)

    def forward(self, x):
        return self.inner(x)


def test_constructor_arguments_are_read_back_from_the_instance():
    assert constructor_kwargs(Rolled(4, shift=2)) == {"channels": 4, "shift": 2}
    assert constructor_kwargs(Indexed(5)) == {"features": 5}
    assert constructor_kwargs(Squeeze(6, 2)) == {"input_channels": 6, "squeeze_channels": 2}
    with pytest.raises(Unsupported, match="'size' is not kept"):
        constructor_kwargs(Unbuildable(3))


def test_a_module_nothing_rebuilds_fails_naming_the_module_and_the_op():
    with pytest.raises(ImportFailed) as failed:
        import_torch(Outer(), (torch.randn(1, 3, 4, 4),))
    text = str(failed.value)
    assert "`inner` (Unbuildable)" in text and "torch.roll" in text
    assert "'size' is not kept on the instance" in text


def test_a_function_of_another_library_is_named_by_its_module():
    def _patch_merging_pad(x):
        return x

    _patch_merging_pad.__module__ = "torchvision.models.swin_transformer"
    graph = torch.fx.Graph()
    x = graph.placeholder("x")
    node = graph.call_function(_patch_merging_pad, (x,))
    assert describe(node) == "torchvision.models.swin_transformer._patch_merging_pad"
    assert describe(graph.call_function(torch.roll, (x, 1))) == "torch.roll"


def test_the_innermost_module_that_rebuilds_is_kept_and_checked():
    model = randomized(Net())
    inputs = (torch.randn(2, 3, 6, 6),)
    if not kept_block_registered():
        with pytest.raises(ImportFailed) as failed:
            import_torch(model, inputs)
        text = str(failed.value)
        assert "`stage.rolled`: Rolled: torch.roll" in text
        assert "rebuilds as test_import_fallback.Rolled(channels=4, shift=2)" in text
        assert "`indexed`: Indexed: self.indexed.index" in text
        assert f"no {KEPT_BLOCK} block is registered" in text
        assert "rebuilds as test_import_fallback.Masked(slope=0.1)" in text
        assert "`stage`:" not in text  # Stage itself converts around its kept child
        return
    result = import_torch(model, inputs)
    assert sorted(o.path for o in result.opaque) == ["indexed", "masked", "stage.rolled"]
    check_same_model(model, inputs, result)


def test_an_op_of_the_model_itself_fails_naming_the_model_and_the_op():
    class Top(nn.Module):
        def forward(self, x):
            return torch.roll(x, 1, dims=1)

    with pytest.raises(ImportFailed, match=r"the model \(Top\): torch.roll: no block"):
        import_torch(Top(), (torch.randn(1, 3, 4),))


def test_a_class_of_a_file_is_named_by_its_import_path(tmp_path):
    source = tmp_path / "userlayers.py"
    source.write_text(
        "import torch\nfrom torch import nn\n\n\n"
        "class Shift(nn.Module):\n"
        "    def __init__(self, channels, shift=1):\n"
        "        super().__init__()\n"
        "        self.shift = shift\n"
        "        self.conv = nn.Conv1d(channels, channels, 1)\n\n"
        "    def forward(self, x):\n"
        "        return torch.roll(self.conv(x), self.shift, dims=2)\n"
    )
    from designer.interop.importer.fallback import import_path
    from designer.interop.importer.source import _module

    module = _module(str(source))
    assert import_path(module.Shift) == "userlayers.Shift"

    class Local(nn.Module):
        pass

    assert import_path(Local) is None  # defined in a function: no name imports it


def test_a_module_called_twice_is_not_kept_whole():
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rolled = Rolled(3)

        def forward(self, x):
            return self.rolled(self.rolled(x))

    with pytest.raises(ImportFailed, match="runs 2 times"):
        import_torch(Twice(), (torch.randn(1, 3, 4, 4),))
