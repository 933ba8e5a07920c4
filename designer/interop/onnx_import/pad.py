"""``Pad``: kept as a :class:`Padded` value until its consumer says what it is.

torch's exporter writes the seed U-Net's size fix-up (``F.pad(x1, [diffX // 2, diffX - diffX // 2,
...])`` before ``torch.cat([x2, x1])``) as a ``Pad`` whose amounts are constants (or size
arithmetic, folded at the example size). A merge (Concat, Add, Mul) that finds those amounts
centre the tensor on a sibling's size makes it PadToMatch(x, sibling); a convolution takes a
symmetric pad as its own padding (``padding_mode`` reflect, replicate, circular included). A pad
of zeros is PadToMatch where a merge allows (the design then works at other sizes), else no pad
at all. Anything else has no block.
"""

from __future__ import annotations

from dataclasses import dataclass

from designer.interop.onnx_import.context import Context, Node, Unsupported, spatial_pairs
from designer.interop.onnx_import.registry import converter
from designer.interop.onnx_import.values import Deferred, Tensor, Value

PADDING_MODES = {"reflect": "reflect", "edge": "replicate", "wrap": "circular"}


@dataclass(eq=False)
class Padded(Deferred):
    """``x`` padded by ``pairs`` ((begin, end) for every axis, batch and channels included)."""

    x: Tensor = None  # type: ignore[assignment]
    pairs: tuple[tuple[int, int], ...] = ()
    mode: str = "constant"
    value: float = 0.0

    @property
    def shape(self) -> tuple:
        pairs = zip(self.x.shape, self.pairs, strict=True)
        return tuple(d if d is None else d + b + e for d, (b, e) in pairs)

    @property
    def spatial_only(self) -> bool:
        return all(p == (0, 0) for p in self.pairs[:2])

    @property
    def zeros(self) -> bool:
        return self.mode == "constant" and self.value == 0

    def centres_on(self, ref: Tensor) -> bool:
        """Whether these are PadToMatch's amounts for ``ref``: the odd element after."""
        if not self.zeros or not self.spatial_only or ref.rank != self.x.rank:
            return False
        for size, target, (begin, end) in zip(
            self.x.shape[2:], ref.shape[2:], self.pairs[2:], strict=True
        ):
            diff = target - size
            if (begin, end) != (diff // 2, diff - diff // 2):
                return False
        return True

    def symmetric(self) -> tuple[int, ...] | None:
        """The spatial amounts when every axis is padded alike on both sides (none negative)."""
        if not self.spatial_only or any(b != e or b < 0 for b, e in self.pairs[2:]):
            return None
        return tuple(b for b, _ in self.pairs[2:])

    def make(self, ctx: Context) -> Tensor:
        if all(p == (0, 0) for p in self.pairs):
            return self.x
        raise Unsupported(
            f"pads by fixed amounts {[list(p) for p in self.pairs]} ({self.mode}); no block does: "
            "PadToMatch pads to the size of a tensor it is concatenated or added with, and a "
            "convolution takes a pad of the same amount on both sides as its padding",
            self.origin,
        )


def resolve_pads(values: list[Value | None], ctx: Context) -> list[Tensor]:
    """Inputs of a merge as tensors: a pad that centres one input on another is PadToMatch."""
    plain = [ctx.tensor(v) if not isinstance(v, Padded) else None for v in values]
    tensors = []
    for value, made in zip(values, plain, strict=True):
        if made is not None:
            tensors.append(made)
            continue
        ref = next((t for t in plain if t is not None and value.centres_on(t)), None)
        if ref is None:
            tensors.append(ctx.tensor(value))
        else:
            tensors.append(ctx.emit("PadToMatch", {}, [value.x, ref], value.origin))
    return tensors


def _amounts(node: Node, ctx: Context, rank: int) -> tuple[list[int], str, float]:
    if node.opset < 11:
        pads = list(node.attrs.get("pads", ()))
        value = float(node.attrs.get("value", 0.0))
    else:
        pads = [int(p) for p in ctx.const(node.input(1), "pad amounts").reshape(-1)]
        fill = ctx.optional_const(node.input(2), "pad value")
        value = 0.0 if fill is None or fill.size == 0 else float(fill.reshape(-1)[0])
        axes = ctx.optional_const(node.input(3), "pad axes")
        if axes is not None:
            full = [0] * (2 * rank)
            for i, axis in enumerate(int(a) % rank for a in axes.reshape(-1)):
                full[axis], full[axis + rank] = pads[i], pads[i + len(axes)]
            pads = full
    return pads, node.attrs.get("mode", "constant"), value


@converter("Pad", since=2)
def pad(node: Node, ctx: Context) -> Value:
    x = ctx.tensor(node.input(0))
    pads, mode, value = _amounts(node, ctx, x.rank)
    if len(pads) != 2 * x.rank:
        raise Unsupported(f"{len(pads)} pad amounts for a {x.rank}-D tensor")
    pairs = tuple(spatial_pairs(pads, x.rank))
    if mode not in ("constant", *PADDING_MODES):
        raise Unsupported(f"pad mode {mode!r}: no block pads that way")
    return Padded(node, x=x, pairs=pairs, mode=mode, value=value)
