"""Layers of the recurrent family (see designer.live.layers): torch's LSTM, GRU and RNN with the
block's ports, the initial states as optional inputs and the final ones as outputs."""

from __future__ import annotations

from torch import nn


class LSTM(nn.LSTM):
    """nn.LSTM called as forward(input, h0, c0) and returning out, h, c: the initial states are
    optional (a missing one starts at zeros), the final ones come out as two tensors."""

    def forward(self, input, h0=None, c0=None):
        if h0 is None and c0 is None:
            out, (h, c) = super().forward(input)
            return out, h, c
        layers = self.num_layers * (2 if self.bidirectional else 1)
        batch = input.size(0 if self.batch_first else 1)
        if h0 is None:
            h0 = input.new_zeros(layers, batch, self.proj_size or self.hidden_size)
        if c0 is None:
            c0 = input.new_zeros(layers, batch, self.hidden_size)
        out, (h, c) = super().forward(input, (h0, c0))
        return out, h, c


class GRU(nn.GRU):
    """nn.GRU called as forward(input, h0) and returning out, h (h0 optional: zeros)."""

    def forward(self, input, h0=None):
        return super().forward(input, h0)


class RNN(nn.RNN):
    """nn.RNN (tanh or relu) called as forward(input, h0) and returning out, h (h0 optional:
    zeros)."""

    def forward(self, input, h0=None):
        return super().forward(input, h0)


LAYERS: tuple[type, ...] = (LSTM, GRU, RNN)
