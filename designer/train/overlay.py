"""The Train tab's headless helpers: what it shows beyond the curves, and a design check.

* Per-node statistics for the canvas overlay: each top-level node's gradient norm (of its
  parameters, else of its output) and its activation statistics on one validation batch.
  :class:`Probe` builds a model of its own from the design and loads the run's last weights file,
  so the model on the training thread is never touched; the tab runs it on a worker thread.
* The pictures of a validation sample: the image, and its true and predicted class maps
  coloured with a fixed palette (:data:`PALETTE`), as RGBA floats for DearPyGui textures.
* :func:`same_model`: whether trained weights still belong to the design being edited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from designer.core.graph import Design
from designer.train.recipe.options import Options

PROBE_BATCH = 8  # validation samples the statistics are taken on
RANDOM_LAYERS = (torch.nn.modules.dropout._DropoutNd, torch.nn.RReLU)
PALETTE = (  # class index -> colour; background first, then distinct hues (cycled beyond)
    (40, 40, 48),
    (230, 75, 60),
    (70, 185, 80),
    (70, 125, 235),
    (240, 200, 45),
    (170, 85, 205),
    (65, 200, 205),
    (245, 135, 40),
)


@dataclass(frozen=True)
class NodeStats:
    """One node's gradient norm and activation statistics on the probe batch."""

    grad: float | None  # L2 norm of the gradient (parameters, else output); None: no gradient
    of_weights: bool  # whether ``grad`` is over the node's parameters
    mean: float
    std: float
    zeros: float  # fraction of exact zeros in the output (dead ReLUs)

    def text(self) -> str:
        """Two short lines for the node: ``∇W 1.2e-02`` and ``act 0.12±0.5 · 31% 0``."""
        grad = "" if self.grad is None else f"∇{'W' if self.of_weights else 'out'} {self.grad:.1e}"
        act = f"act {self.mean:.2g}±{self.std:.2g}"
        if self.zeros >= 0.01:
            act += f" · {self.zeros:.0%} 0"
        return f"{grad}\n{act}" if grad else act

    @property
    def suspicious(self) -> bool:
        """A vanishing or exploding gradient, or a mostly dead output."""
        vanishing = self.grad is not None and self.grad < 1e-7
        exploding = self.grad is not None and (self.grad > 1e3 or math.isnan(self.grad))
        return vanishing or exploding or self.zeros > 0.9


class _Retaining(dict):
    """A capture dict that keeps the gradient of every node output stored in it."""

    def __setitem__(self, key: str, value: Any) -> None:
        tensor = _first_tensor(value)
        if tensor is not None and tensor.requires_grad and not tensor.is_leaf:
            tensor.retain_grad()
        super().__setitem__(key, value)


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, (tuple, list)):
        value = value[0] if value else None
    return value if isinstance(value, torch.Tensor) else None


def _norm(tensors: list[torch.Tensor]) -> float:
    return math.sqrt(sum(float(t.detach().float().pow(2).sum()) for t in tensors))


def node_stats(model: Any, x: torch.Tensor, y: torch.Tensor, loss_fn) -> dict[str, NodeStats]:
    """Forward and backward ``model`` (a live model) on one batch; statistics per top-level node.

    The model is in training mode (batch statistics in normalisation layers) except for random
    layers (dropout, RReLU), which would draw from the generator a training thread uses."""
    model.train()
    for module in model.modules():
        if isinstance(module, RANDOM_LAYERS):
            module.eval()
    model.zero_grad(set_to_none=True)
    out, capture = model.forward_capture(x, into=_Retaining())
    loss_fn(out, y).backward()
    scope = model.plan.model
    stats = {}
    for node, value in capture.items():
        tensor = _first_tensor(value)
        if "/" in node or tensor is None:
            continue
        path = scope.path_of(node)
        params = list(model.get_submodule(path).parameters()) if path else []
        grads = [p.grad for p in params if p.grad is not None]
        if grads:
            grad, of_weights = _norm(grads), True
        else:
            grad, of_weights = (_norm([tensor.grad]) if tensor.grad is not None else None), False
        values = tensor.detach().float()
        stats[node] = NodeStats(
            grad,
            of_weights,
            float(values.mean()),
            float(values.std()) if values.numel() > 1 else 0.0,
            float((values == 0).float().mean()),
        )
    model.zero_grad(set_to_none=True)
    return stats


class Probe:
    """Statistics of a design's model at a run's weights, on a fixed validation batch."""

    def __init__(self, design: Design, options: Options) -> None:
        self.design = design
        self.options = options
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self.task = ""

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The first :data:`PROBE_BATCH` validation samples of the run's split."""
        if self._batch is None:
            from designer.train.recipe.data import open_data, split

            samples = open_data(self.options.data)
            self.task = samples.spec.task
            _, val = split(len(samples), self.options.val_fraction, self.options.seed)
            pairs = [samples[i] for i in (val or [0])[:PROBE_BATCH]]
            self._batch = (torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs]))
        return self._batch

    def run(self, weights: str | Path | None) -> dict[str, NodeStats]:
        """Statistics with ``weights`` loaded (None: the run's starting weights), on the CPU.

        The model is built on the meta device and filled from the file: no draw from torch's
        global random generator, which a run on another thread shares (fresh weights do draw;
        ask for them only while nothing trains)."""
        from designer.live.model import build
        from designer.live.weights import load_weights
        from designer.train.recipe.loop import init_weights
        from designer.train.recipe.objective import loss_name, make_loss

        x, y = self.batch()
        with torch.device("meta"):
            model = build(self.design, "meta")
        model = model.to_empty(device="cpu")
        if weights is not None:
            load_weights(model, weights)
        else:
            init_weights(model, self.options.seed)
        loss = make_loss(loss_name(self.task, self.options.loss))
        return node_stats(model, x, y, loss)


# -- the sample's pictures ----------------------------------------------------------------------


def colour_classes(classes: torch.Tensor) -> torch.Tensor:
    """A class map [H,W] as RGB floats [H,W,3] in [0,1] through :data:`PALETTE`."""
    palette = torch.tensor(PALETTE, dtype=torch.float32) / 255
    return palette[classes.long() % len(PALETTE)]


def rgba(picture: torch.Tensor, side: int) -> list[float]:
    """An RGB picture [H,W,3] in [0,1] scaled (nearest) into a black ``side`` square, as the flat
    RGBA list a dynamic texture takes."""
    from designer.run.session import fit_square

    height, width = picture.shape[:2]
    pixels = torch.cat([picture, torch.ones(height, width, 1)], 2).flatten().tolist()
    return fit_square(width, height, pixels, side)


def image_rgb(image: torch.Tensor) -> torch.Tensor:
    """A uint8 image [H,W,C] as RGB floats (grey repeated, extra channels dropped)."""
    picture = image.float() / 255
    if picture.shape[2] < 3:
        picture = picture[..., :1].expand(-1, -1, 3)
    return picture[..., :3]


def sample_pictures(info: dict, side: int) -> dict[str, list[float]]:
    """RGBA squares of a ``sample`` event: ``image``, and ``target`` and ``prediction`` when they
    are class maps (a label or a value has no picture)."""
    pictures = {"image": rgba(image_rgb(info["image"]), side)}
    for key in ("target", "prediction"):
        value = info[key]
        if value.dim() == 2 and not value.is_floating_point():
            pictures[key] = rgba(colour_classes(value), side)
    return pictures


def same_model(a: Design, b: Design) -> bool:
    """Whether two designs build the same model (node positions aside)."""
    from designer.core.fileformat import model_fingerprint

    return model_fingerprint(a) == model_fingerprint(b)
