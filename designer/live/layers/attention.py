"""Layers of the attention family (see designer.live.layers): torch's attention layers, batch-first,
with a ``causal`` switch that builds the mask over later positions in ``forward``.

The mask comes from :func:`causal_mask`, which generated files copy once.
"""

from __future__ import annotations

import torch
from torch import nn


def causal_mask(mask, other, x):
    """``mask`` (or none) with every later position of ``x`` masked too: a bool mask, unless
    the mask given (``mask``, else ``other``) is a float one, then -inf where masked."""
    size = x.size(1)
    later = torch.ones(size, size, dtype=torch.bool, device=x.device).triu(1)
    given = mask if mask is not None else other
    if given is None or given.dtype == torch.bool:
        return later if mask is None else mask | later
    mask = torch.zeros(size, size, dtype=x.dtype, device=x.device) if mask is None else mask
    return mask.masked_fill(later, float("-inf"))


class Attention(nn.MultiheadAttention):
    """Batch-first multi-head attention returning only its output (NxLxE).

    Unwired key and value mean self-attention (key = query, value = key). With ``causal``, each
    position attends only to itself and earlier ones (query and key of one length).
    """

    def __init__(self, embed_dim, num_heads, causal=False, **kwargs):
        super().__init__(embed_dim, num_heads, batch_first=True, **kwargs)
        self.causal = causal

    def forward(self, query, key=None, value=None, key_padding_mask=None, attn_mask=None):
        key = query if key is None else key
        value = key if value is None else value
        hint = self.causal and attn_mask is None  # the mask is then exactly the causal one
        if self.causal:
            attn_mask = causal_mask(attn_mask, key_padding_mask, query)
        out, _ = super().forward(
            query,
            key,
            value,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            attn_mask=attn_mask,
            is_causal=hint,
        )
        return out


class EncoderLayer(nn.TransformerEncoderLayer):
    """torch's Transformer encoder layer, batch-first (NxLxE); with ``causal``, each position
    attends only to itself and earlier ones."""

    def __init__(self, d_model, nhead, causal=False, **kwargs):
        super().__init__(d_model, nhead, batch_first=True, **kwargs)
        self.causal = causal

    def forward(self, src, src_mask=None, src_key_padding_mask=None):
        hint = self.causal and src_mask is None
        if self.causal:
            src_mask = causal_mask(src_mask, src_key_padding_mask, src)
        if any(m is not None and m.is_floating_point() for m in (src_mask, src_key_padding_mask)):
            return self.standard_forward(src, src_mask, src_key_padding_mask, hint)
        return super().forward(src, src_mask, src_key_padding_mask, is_causal=hint)

    def standard_forward(self, x, mask, padding, hint):
        """torch's forward without its fast path, whose evaluation mode gives NaN for float
        masks (pytorch/pytorch#118628)."""
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), mask, padding, hint)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, mask, padding, hint))
        return self.norm2(x + self._ff_block(x))


class DecoderLayer(nn.TransformerDecoderLayer):
    """torch's Transformer decoder layer, batch-first (target NxLxE, memory NxSxE); with
    ``causal``, each target position attends only to itself and earlier ones."""

    def __init__(self, d_model, nhead, causal=False, **kwargs):
        super().__init__(d_model, nhead, batch_first=True, **kwargs)
        self.causal = causal

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
    ):
        hint = self.causal and tgt_mask is None
        if self.causal:
            tgt_mask = causal_mask(tgt_mask, tgt_key_padding_mask, tgt)
        return super().forward(
            tgt,
            memory,
            tgt_mask,
            memory_mask,
            tgt_key_padding_mask,
            memory_key_padding_mask,
            tgt_is_causal=hint,
        )


LAYERS: tuple[type, ...] = (Attention, EncoderLayer, DecoderLayer)
FUNCTIONS = (causal_mask,)
