"""Hand-written torch.nn references for the bundled examples beyond the U-Net: what a user would
write without the designer. Tests copy the live model's weights into them (in order) and compare."""

from __future__ import annotations

import torch
from torch import nn

MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip


def conv_bn_act(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU6(),
    )


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        layers = [conv_bn_act(c_in, hidden, 1)] if expand != 1 else []
        layers += [
            conv_bn_act(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2(classes: int = 1000) -> nn.Module:
    layers, c_in = [conv_bn_act(3, 32, 3, 2)], 32
    for t, c, n, s in MOBILENET_V2:
        for i in range(n):
            layers.append(InvertedResidual(c_in, c, s if i == 0 else 1, t))
            c_in = c
    layers += [conv_bn_act(320, 1280, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers, nn.Dropout(0.2), nn.Linear(1280, classes))


def vit(image=32, patch=8, dim=64, depth=4, heads=4, mlp=128, classes=10) -> nn.Module:
    """A Vision Transformer as torchvision's: patches, class token, positions, pre-norm layers."""
    tokens = (image // patch) ** 2 + 1

    class ViT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch = nn.Conv2d(3, dim, patch, patch)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos = nn.Parameter(torch.zeros(1, tokens, dim))
            layer = lambda: nn.TransformerEncoderLayer(  # noqa: E731
                dim, heads, mlp, 0.0, "gelu", batch_first=True, norm_first=True
            )
            self.encoder = nn.Sequential(*[layer() for _ in range(depth)])
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, classes)

        def forward(self, x):
            x = self.patch(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls_token.expand(x.size(0), -1, -1), x], dim=1) + self.pos
            return self.head(self.norm(self.encoder(x))[:, 0])

    return ViT()


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Load ``source``'s state into ``target``: entries of equal shape pair up in order (a bare
    ``nn.Parameter`` sorts first in a hand-written module's state, last in a submodule's)."""
    ours = list(source.state_dict().values())
    seen: set[int] = set()
    theirs = {}  # one entry per tensor: a tied weight is loaded once
    for key, value in target.state_dict().items():
        if value.data_ptr() not in seen:
            seen.add(value.data_ptr())
            theirs[key] = value
    assert len(theirs) == len(ours), (len(theirs), len(ours))
    by_shape: dict[tuple, list] = {}
    for value in ours:
        by_shape.setdefault(tuple(value.shape), []).append(value)
    state = {}
    for key, value in theirs.items():
        queue = by_shape.get(tuple(value.shape))
        assert queue, f"{key}: no entry of shape {tuple(value.shape)} left"
        state[key] = queue.pop(0)
    target.load_state_dict(state, strict=False)
    assert all(torch.equal(target.state_dict()[k], v) for k, v in state.items())


def causal_mask(length: int) -> torch.Tensor:
    """True above the diagonal: a position may not attend to later ones."""
    return torch.ones(length, length, dtype=torch.bool).triu(1)


class PreNormBlock(nn.Module):
    """GPT-2's block: x + attn(ln(x)), then x + mlp(ln(x)); causal self-attention."""

    def __init__(self, dim: int, heads: int, mlp: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        mask = causal_mask(x.size(1)).to(x.device)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


def gpt(vocab=256, context=32, dim=64, depth=2, heads=4, tied=True) -> nn.Module:
    """A GPT-2 style decoder: token and position embeddings, pre-norm blocks, an LM head tied to
    the token embedding (or not)."""

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(vocab, dim)
            self.wpe = nn.Parameter(torch.zeros(1, context, dim))
            self.blocks = nn.Sequential(*[PreNormBlock(dim, heads, 4 * dim) for _ in range(depth)])
            self.ln_f = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, vocab, bias=False)
            if tied:
                self.head.weight = self.wte.weight

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            x = self.wte(ids) + self.wpe
            return self.head(self.ln_f(self.blocks(x)))

    return GPT()


def lstm_classifier(vocab=100, embed=32, hidden=48, classes=5) -> nn.Module:
    """Embedding, a 2-layer bidirectional LSTM, the last step, a linear head."""

    class LSTMClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, embed)
            self.lstm = nn.LSTM(embed, hidden, 2, batch_first=True, bidirectional=True)
            self.head = nn.Linear(2 * hidden, classes)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(self.embed(ids))
            return self.head(out[:, -1])

    return LSTMClassifier()
