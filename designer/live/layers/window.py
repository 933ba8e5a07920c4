"""Layers of the window family (see designer.live.layers): Swin Transformer's shifted-window
attention (v1 and v2) and patch merging, on channels-last maps (N, H, W, C).

Their state dicts are torchvision's (``torchvision.models.swin_transformer``), buffers included,
so that weights move between the two unchanged. The window arithmetic both attentions share is
written once, in the functions below, which generated files copy beside the classes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def window_position_index(height, width):
    """For each pair of positions (i, j) in a window, flattened: the row of a table of relative
    offsets for their offset, offsets counted from (-(height - 1), -(width - 1))."""
    rows, cols = torch.meshgrid(
        torch.arange(height, device="cpu"), torch.arange(width, device="cpu"), indexing="ij"
    )
    rows, cols = rows.flatten(), cols.flatten()
    down = rows[:, None] - rows[None, :] + height - 1
    right = cols[:, None] - cols[None, :] + width - 1
    return (down * (2 * width - 1) + right).flatten()


def attend_in_windows(x, window_size, shift_size, attend):
    """Swin's windows over an (N, H, W, C) map: pad it with zeros to whole windows, roll it back
    by ``shift_size`` (no roll along an axis one window covers), call ``attend(windows, mask)``
    on the (windows, positions, C) stack, then put the windows back, roll and crop. ``mask`` is
    None without a roll, else (windows, positions, positions): -100 between positions rolled in
    from different regions, 0 within one."""
    batch, height, width, channels = x.shape
    win_h, win_w = window_size
    x = F.pad(x, (0, 0, 0, -width % win_w, 0, -height % win_h))
    padded_h, padded_w = x.shape[1], x.shape[2]
    shift_h = shift_size[0] if win_h < padded_h else 0
    shift_w = shift_size[1] if win_w < padded_w else 0
    mask = None
    if shift_h or shift_w:
        x = torch.roll(x, shifts=(-shift_h, -shift_w), dims=(1, 2))
        mask = region_mask(padded_h, padded_w, window_size, (shift_h, shift_w), x)
    rows, cols = padded_h // win_h, padded_w // win_w
    x = x.view(batch, rows, win_h, cols, win_w, channels).permute(0, 1, 3, 2, 4, 5)
    x = attend(x.reshape(batch * rows * cols, win_h * win_w, channels), mask)
    x = x.view(batch, rows, cols, win_h, win_w, channels).permute(0, 1, 3, 2, 4, 5)
    x = x.reshape(batch, padded_h, padded_w, channels)
    if shift_h or shift_w:
        x = torch.roll(x, shifts=(shift_h, shift_w), dims=(1, 2))
    return x[:, :height, :width].contiguous()


def region_mask(height, width, window_size, shift, like):
    """(windows, positions, positions): 0 between positions of one region of the rolled map,
    -100 between regions (along each axis: before the last window, in it, rolled in)."""
    win_h, win_w = window_size
    labels = window_regions(height, win_h, shift[0], like.device)[:, None] * 3
    labels = labels + window_regions(width, win_w, shift[1], like.device)
    labels = labels.view(height // win_h, win_h, width // win_w, win_w).transpose(1, 2)
    labels = labels.reshape(-1, win_h * win_w)
    apart = labels[:, None, :] != labels[:, :, None]
    return like.new_zeros(apart.shape).masked_fill(apart, -100.0)


def window_regions(size, window, shift, device):
    """Region of each position along an axis of the rolled map: 0 before the last window,
    1 in it, 2 in the part rolled in from the start (``shift`` positions)."""
    at = torch.arange(size, device=device)
    return (at >= size - window).long() + (at >= size - shift).long()


def windowed_attention(layer, scores, v, mask):
    """Softmax over each window's ``scores`` (windows, heads, P, P) with ``mask`` added per window,
    then the values mixed and projected: the tail of both Swin attentions."""
    if mask is not None:
        windows = mask.size(0)
        scores = scores.view(-1, windows, *scores.shape[1:]) + mask[None, :, None]
        scores = scores.view(-1, *scores.shape[2:])
    attention = F.dropout(scores.softmax(-1), layer.attention_dropout, layer.training)
    x = (attention @ v).transpose(1, 2).flatten(2)
    return F.dropout(layer.proj(x), layer.dropout, layer.training)


def merge_patches(x):
    """Each 2x2 patch of an (..., H, W, C) map (padded with zeros to even sizes) concatenated into
    4C features: (..., ceil(H / 2), ceil(W / 2), 4C)."""
    height, width = x.shape[-3], x.shape[-2]
    x = F.pad(x, (0, 0, 0, width % 2, 0, height % 2))
    return torch.cat([x[..., i::2, j::2, :] for j in (0, 1) for i in (0, 1)], -1)


class ShiftedWindowAttention(nn.Module):
    """Swin's window attention (v1) over an (N, H, W, C) map, keeping its shape.

    The map is cut into windows of ``window_size`` positions, shifted by ``shift_size`` so that
    windows straddle the borders of the previous layer's (see ``attend_in_windows``). Each window
    attends among its own positions, with a learned bias per relative position and head.
    """

    def __init__(
        self,
        dim,
        window_size,
        shift_size,
        num_heads,
        qkv_bias=True,
        proj_bias=True,
        attention_dropout=0.0,
        dropout=0.0,
    ):
        super().__init__()
        self.window_size = [window_size] * 2 if isinstance(window_size, int) else list(window_size)
        self.shift_size = [shift_size] * 2 if isinstance(shift_size, int) else list(shift_size)
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        height, width = self.window_size
        table = torch.zeros((2 * height - 1) * (2 * width - 1), num_heads)
        self.relative_position_bias_table = nn.Parameter(table)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        index = window_position_index(height, width)  # small tables: made on the CPU, then moved
        self.register_buffer("relative_position_index", index.to(self.qkv.weight.device))

    def position_bias(self):
        """The bias added to each head's scores: (1, heads, positions, positions)."""
        size = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index]
        return bias.view(size, size, -1).permute(2, 0, 1).contiguous().unsqueeze(0)

    def forward(self, x):
        return attend_in_windows(x, self.window_size, self.shift_size, self.attend)

    def attend(self, x, mask):
        """Attention within each window of the (windows, positions, C) stack ``x``."""
        qkv = self.qkv(x).reshape(x.size(0), x.size(1), 3, self.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        scores = (q * (x.size(-1) // self.num_heads) ** -0.5) @ k.transpose(-2, -1)
        return windowed_attention(self, scores + self.position_bias(), v, mask)


class ShiftedWindowAttentionV2(nn.Module):
    """Swin V2's window attention over an (N, H, W, C) map, keeping its shape.

    Windows, shift and mask as in Swin v1's; the scores are cosine similarities of queries and
    keys times a learned per-head scale (at most 100), and the relative position bias comes from
    a small MLP (``cpb_mlp``) on log-spaced offsets, squashed into (0, 16). The keys' bias is
    kept at zero.
    """

    max_logit_scale = 4.605170185988092  # log(100)

    def __init__(
        self,
        dim,
        window_size,
        shift_size,
        num_heads,
        qkv_bias=True,
        proj_bias=True,
        attention_dropout=0.0,
        dropout=0.0,
    ):
        super().__init__()
        self.window_size = [window_size] * 2 if isinstance(window_size, int) else list(window_size)
        self.shift_size = [shift_size] * 2 if isinstance(shift_size, int) else list(shift_size)
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        height, width = self.window_size
        device = self.qkv.weight.device  # small tables: made on the CPU, then moved
        self.register_buffer("relative_coords_table", self.log_offsets(height, width).to(device))
        index = window_position_index(height, width)
        self.register_buffer("relative_position_index", index.to(device))
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones(num_heads, 1, 1)))
        self.cpb_mlp = nn.Sequential(
            nn.Linear(2, 512), nn.ReLU(inplace=True), nn.Linear(512, num_heads, bias=False)
        )
        if qkv_bias:
            with torch.no_grad():
                self.qkv.bias[dim : 2 * dim].zero_()

    @staticmethod
    def log_offsets(height, width):
        """Every offset within a window, scaled into [-8, 8] and log-spaced:
        (1, 2 * height - 1, 2 * width - 1, 2)."""
        down = torch.arange(1 - height, height, dtype=torch.float32, device="cpu")
        right = torch.arange(1 - width, width, dtype=torch.float32, device="cpu")
        down, right = down / max(height - 1, 1), right / max(width - 1, 1)
        table = torch.stack(torch.meshgrid(down, right, indexing="ij"), -1).unsqueeze(0) * 8
        return torch.sign(table) * torch.log2(table.abs() + 1.0) / 3.0

    def position_bias(self):
        """The bias added to each head's scores: (1, heads, positions, positions)."""
        size = self.window_size[0] * self.window_size[1]
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)
        bias = table[self.relative_position_index].view(size, size, -1)
        return 16 * torch.sigmoid(bias.permute(2, 0, 1).contiguous().unsqueeze(0))

    def forward(self, x):
        return attend_in_windows(x, self.window_size, self.shift_size, self.attend)

    def attend(self, x, mask):
        """Cosine attention within each window of the (windows, positions, C) stack ``x``."""
        bias, channels = self.qkv.bias, x.size(-1)
        if bias is not None:
            bias = torch.cat([bias[:channels], torch.zeros_like(bias[:channels]), bias[-channels:]])
        qkv = F.linear(x, self.qkv.weight, bias)
        q, k, v = qkv.reshape(x.size(0), x.size(1), 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        scores = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        scores = scores * torch.clamp(self.logit_scale, max=self.max_logit_scale).exp()
        return windowed_attention(self, scores + self.position_bias(), v, mask)


class PatchMerging(nn.Module):
    """Swin's downsampling of an (N, H, W, C) map to (N, ceil(H / 2), ceil(W / 2), 2C): each 2x2
    patch is concatenated into 4C features (``merge_patches``), normalised (LayerNorm) and
    projected to 2C."""

    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=eps)

    def forward(self, x):
        return self.reduction(self.norm(merge_patches(x)))


class PatchMergingV2(nn.Module):
    """Swin V2's downsampling of an (N, H, W, C) map to (N, ceil(H / 2), ceil(W / 2), 2C): each
    2x2 patch is concatenated into 4C features (``merge_patches``), projected to 2C and
    normalised (LayerNorm)."""

    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim, eps=eps)

    def forward(self, x):
        return self.norm(self.reduction(merge_patches(x)))


LAYERS: tuple[type, ...] = (
    ShiftedWindowAttention,
    ShiftedWindowAttentionV2,
    PatchMerging,
    PatchMergingV2,
)
FUNCTIONS = (
    window_position_index,
    attend_in_windows,
    region_mask,
    window_regions,
    windowed_attention,
    merge_patches,
)
