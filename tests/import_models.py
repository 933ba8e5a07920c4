"""Hand-written PyTorch models for the importer's tests and benchmark (no torchvision).

``UNet`` and its blocks are written as in the seed (../shared/seeds/000_*.txt); ``ResNet`` uses a
torchvision-style ``BasicBlock`` with and without a downsample branch; the last models use ops
the block vocabulary cannot express.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class DoubleConv(nn.Module):
    """(convolution => [BN] => ReLU) * 2"""

    def __init__(self, in_channels, out_channels, mid_channels=None):
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    """Downscaling with maxpool then double conv"""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    """Upscaling then double conv"""

    def __init__(self, in_channels, out_channels, bilinear=False):
        super().__init__()
        # if bilinear, use the normal convolutions to reduce the number of channels
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        # input is CHW
        diffY = x2.size()[2] - x1.size()[2]
        diffX = x2.size()[3] - x1.size()[3]

        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
        x = torch.cat([x2, x1], dim=1)
        return self.conv(x)


class OutConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(OutConv, self).__init__()  # noqa: UP008 - as the seed writes it
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, n_channels, n_classes, bilinear=False, base=64):
        super(UNet, self).__init__()  # noqa: UP008 - as the seed writes it
        self.n_channels = n_channels
        self.n_classes = n_classes
        self.bilinear = bilinear

        self.inc = DoubleConv(n_channels, base)
        self.down1 = Down(base, 2 * base)
        self.down2 = Down(2 * base, 4 * base)
        self.down3 = Down(4 * base, 8 * base)
        factor = 2 if bilinear else 1
        self.down4 = Down(8 * base, 16 * base // factor)
        self.up1 = Up(16 * base, 8 * base // factor, bilinear)
        self.up2 = Up(8 * base, 4 * base // factor, bilinear)
        self.up3 = Up(4 * base, 2 * base // factor, bilinear)
        self.up4 = Up(2 * base, base, bilinear)
        self.outc = OutConv(base, n_classes)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        logits = self.outc(x)
        return logits


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """torchvision's residual block: two 3x3 convolutions, a skip (projected when it must be)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    """A small ResNet: a stem, three stages of BasicBlocks, global pooling and a classifier."""

    def __init__(self, layers=(2, 2, 2), widths=(16, 32, 64), num_classes=10):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(widths[0], layers[0])
        self.layer2 = self._make_layer(widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(widths[2], layers[2], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[2], num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


class Head(nn.Module):
    """A classifier head written with functional ops and ``x.view(x.size(0), -1)``."""

    def __init__(self, channels=8, classes=3):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, padding=1)
        self.fc = nn.Linear(channels * 4 * 4, classes)

    def forward(self, x):
        x = F.relu(self.conv(x))
        x = F.max_pool2d(x, 2)
        x = F.adaptive_avg_pool2d(x, 4)
        x = x.view(x.size(0), -1)
        return F.log_softmax(self.fc(x), dim=1)


class Gate(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        return x * torch.sin(self.proj(x))  # no block computes a sine


class Odd(nn.Module):
    """Unsupported on purpose: ``torch.sin`` in ``body.gate`` and an ``nn.PReLU`` layer."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.body = nn.Sequential(nn.BatchNorm2d(4), Gate(4))
        self.act = nn.PReLU()

    def forward(self, x):
        return self.act(self.body(self.stem(x)))


class Branchy(nn.Module):
    """Two inputs, a fan-out, Concat, Multiply and tensor methods at the top level."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(3, 4, 1)
        self.mix = nn.Conv2d(8, 4, 1)

    def forward(self, x, y):
        a = self.a(x)
        h = torch.cat([a, self.b(y)], 1)
        return torch.sigmoid(self.mix(h)) * a.relu()


class Shared(nn.Module):
    """One convolution applied twice: its weights would be shared, which a design cannot say."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(F.relu(self.conv(x)))


class DataDependent(nn.Module):
    """Control flow on tensor values: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.inner = nn.Sequential(nn.Conv2d(3, 3, 1), Sign())

    def forward(self, x):
        return self.inner(x)


class Sign(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


class SizeBranch(nn.Module):
    """Python decisions on sizes: unpacking ``x.shape``, a branch and a window read from them."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        h, w = x.shape[2:]
        y = self.conv(x)
        if h % 2 == 0:
            y = F.relu(y)
        return F.max_pool2d(y, kernel_size=w // 4)


class Scaled(nn.Module):
    """Reads a parameter directly (a Parameter node) and resizes to another tensor's size
    (ResizeLike)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, stride=2, padding=1)
        self.scale = nn.Parameter(torch.ones(1, 3, 1, 1))

    def forward(self, x):
        y = F.interpolate(self.conv(x), size=x.shape[2:])
        return y * self.scale


class Act(nn.Module):
    def __init__(self, relu: bool):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)
        self.act = nn.ReLU() if relu else nn.Tanh()

    def forward(self, x):
        return self.act(self.conv(x))


class Mixed(nn.Module):
    """Instances of one class with different layers (two blocks), and a layer never used."""

    def __init__(self):
        super().__init__()
        self.a = Act(True)
        self.b = Act(False)
        self.c = Act(True)
        self.unused = nn.Linear(2, 2)

    def forward(self, x):
        return self.c(self.b(self.a(x)))


def randomized(module: nn.Module, seed: int = 0) -> nn.Module:
    """``module`` in eval mode with random weights and running statistics (defaults would hide a
    running mean loaded into the wrong layer)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            noise = torch.rand(tensor.shape, generator=generator)
            tensor.copy_(noise + 0.5 if name.endswith("running_var") else noise * 0.4 - 0.2)
    return module.eval()


def outputs(module: nn.Module, inputs: tuple) -> tuple:
    with torch.no_grad():
        out = module(*inputs)
    return out if isinstance(out, tuple) else (out,)


def assert_close(got: tuple, want: tuple) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape
        scale = max(1.0, b.abs().max().item())
        assert (a - b).abs().max().item() <= 1e-5 * scale


def assert_reloads(design) -> None:
    """An imported design saves and opens again, byte for byte, to the same report."""
    import designer
    from designer.core.fileformat import dumps

    text = dumps(design)
    again = designer.loads(text)
    assert dumps(again) == text
    report, want = designer.validate(again), designer.validate(design)
    assert report.ok and report.total_params == want.total_params


def check_same_model(module: nn.Module, inputs: tuple, result) -> None:
    """The imported design, built live and as generated code, loads the weights strictly and
    computes what the module (in eval mode) computes."""
    from codegen_helpers import exec_source

    import designer

    assert_reloads(result.design)
    want = outputs(module.eval(), inputs)
    live = designer.build(result.design, device="cpu")
    live.load_state_dict(result.state_dict, strict=True)
    assert_close(outputs(live.eval(), inputs), want)
    source = designer.generate_code(result.design, class_name="Imported")
    generated = exec_source(source)["Imported"]()
    generated.load_state_dict(result.state_dict, strict=True)
    assert_close(outputs(generated.eval(), inputs), want)
