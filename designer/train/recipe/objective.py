"""What training minimises and how validation is scored, both following the data's task."""

from __future__ import annotations

import torch
import torch.nn.functional as F

METRIC = {"segmentation": "val_miou", "classification": "val_accuracy", "regression": "val_mse"}


def loss_name(task: str, choice: str) -> str:
    """The loss a task uses: ``auto`` is cross-entropy for classes and MSE for regression."""
    allowed = {"segmentation": ("ce", "dice_ce"), "classification": ("ce",), "regression": ("mse",)}
    if choice == "auto":
        return allowed[task][0]
    if choice not in allowed[task]:
        raise ValueError(f"--loss {choice} does not suit {task}; use {' or '.join(allowed[task])}")
    return choice


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - the soft Dice score averaged over classes (class maps: logits [N,K,H,W])."""
    probs = logits.softmax(1)
    onehot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    dims = (0, 2, 3)
    overlap = (probs * onehot).sum(dims)
    total = probs.sum(dims) + onehot.sum(dims)
    return 1 - ((2 * overlap + 1) / (total + 1)).mean()


def as_target_shape(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """A regression output shaped like its target (``[N,1]`` against ``[N]``, say)."""
    return output.reshape(target.shape) if output.numel() == target.numel() else output


def make_loss(name: str):
    """The loss function ``(output, target) -> scalar``, computed in float32."""

    def ce(out, y):
        return F.cross_entropy(out.float(), y)

    def dice_ce(out, y):
        return F.cross_entropy(out.float(), y) + dice_loss(out.float(), y)

    def mse(out, y):
        return F.mse_loss(as_target_shape(out.float(), y), y)

    return {"ce": ce, "dice_ce": dice_ce, "mse": mse}[name]


class Meter:
    """Sums over the validation set (so that ranks can add theirs up): loss, and the metric's
    counts (a confusion matrix for class maps, hits for labels, squared error for values)."""

    def __init__(self, task: str, classes: int | None) -> None:
        self.task = task
        size = classes * classes if task == "segmentation" else 1
        self.classes = classes or 0
        self.sums = torch.zeros(
            3 + size, dtype=torch.float64
        )  # loss, samples, hits or squared error, counts

    def add(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        n = y.shape[0]
        self.sums[0] += float(loss) * n
        self.sums[1] += n
        if self.task == "segmentation":
            pred = out.argmax(1)
            k = self.classes
            pairs = (y.reshape(-1) * k + pred.reshape(-1)).to("cpu")
            self.sums[3:] += torch.bincount(pairs, minlength=k * k).double()
        elif self.task == "classification":
            self.sums[2] += float((out.argmax(1) == y).sum())
        else:
            self.sums[2] += float(((as_target_shape(out.float(), y) - y) ** 2).sum())
            self.sums[3] += y.numel()

    def result(self) -> dict[str, float]:
        n = max(float(self.sums[1]), 1.0)
        row = {"val_loss": float(self.sums[0]) / n}
        if self.task == "segmentation":
            row["val_miou"] = mean_iou(self.sums[3:].reshape(self.classes, self.classes))
        elif self.task == "classification":
            row["val_accuracy"] = float(self.sums[2]) / n
        else:
            row["val_mse"] = float(self.sums[2]) / max(float(self.sums[3]), 1.0)
        return row


def mean_iou(confusion: torch.Tensor) -> float:
    """Mean IoU over the classes present in the target or the prediction (rows: target)."""
    hits = confusion.diagonal()
    union = confusion.sum(0) + confusion.sum(1) - hits
    present = union > 0
    return float((hits[present] / union[present]).mean()) if present.any() else 0.0


def better(metric: str, value: float, best: float | None) -> bool:
    """Whether ``value`` of ``metric`` beats ``best`` (a lower error, a higher score)."""
    if best is None:
        return True
    return value < best if metric == "val_mse" else value > best
