"""The training loop, shared verbatim by ``designer train`` and the generated ``train.py``.

Same seed, same data order, same code: the in-app run and the script give the same losses. A run
writes ``metrics.jsonl`` (one object per epoch), ``last.safetensors``, ``best.safetensors`` and
``last.state.pt`` (weights, optimizer, schedule position, RNG: what ``--resume`` continues from)
into its folder. Progress goes to a ``report(kind, info)`` callback; ``should_stop()`` is asked
after every step (Ctrl+C through :func:`sigint_stops`), and a stopped run saves before returning.
Under torchrun every rank trains its share of each global batch; rank 0 reports and saves.
"""

from __future__ import annotations

from torch import nn

from designer.train.recipe.dist import setup, teardown  # recipe-local
from designer.train.recipe.interrupt import sigint_stops as sigint_stops  # recipe-local
from designer.train.recipe.options import Options  # recipe-local
from designer.train.recipe.progress import epoch_line as epoch_line  # recipe-local
from designer.train.recipe.progress import start_line as start_line  # recipe-local
from designer.train.recipe.run import Result, Run  # recipe-local
from designer.train.recipe.run_setup import TrainError as TrainError  # recipe-local
from designer.train.recipe.weights import init_weights as init_weights  # recipe-local


def train(model: nn.Module, samples, opts: Options, report=None, should_stop=None) -> Result:
    """Train ``model`` (weights set here: fresh from ``opts.seed``, ``opts.weights`` or the
    saved state) on ``samples``; see the module's docstring."""
    ctx = setup(opts.device, opts.fsdp)
    try:
        return Run(model, samples, opts, ctx, report).fit(should_stop or (lambda: False))
    finally:
        teardown(ctx)
