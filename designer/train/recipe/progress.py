"""The run's progress as the lines ``designer train`` and the generated script print."""

from __future__ import annotations

from designer.train.recipe.objective import METRIC  # recipe-local


def start_line(info: dict) -> str:
    """``training on cpu (1 process): 204 samples, 51 for validation, 13 steps per epoch``."""
    world = info["world"]
    return (
        f"training on {info['device']} ({world} process{'es' * (world > 1)}): {info['train']} "
        f"samples, {info['val']} for validation, {info['batches']} steps per epoch"
    )


def epoch_line(row: dict) -> str:
    """``epoch 3/30  train_loss 0.4120  val_loss 0.3981  val_miou 0.7312  lr 2.9e-03  4.1s``."""
    metric = next(name for name in METRIC.values() if name in row)
    return (
        f"epoch {row['epoch']}/{row['epochs']}  train_loss {row['train_loss']:.4f}  "
        f"val_loss {row['val_loss']:.4f}  {metric} {row[metric]:.4f}  lr {row['lr']:.1e}  "
        f"{row['seconds']:.1f}s"
    )
