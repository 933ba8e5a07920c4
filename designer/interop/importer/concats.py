"""Concatenations that extend an earlier one read it: ``cat([x, a, b, c])`` after
``cat([x, a, b])`` becomes ``cat([cat_2, c])``. The result is the same tensor, and DenseNet's
blocks (each layer concatenates every feature map so far) keep one wire per layer instead of a
number that grows with the square of their depth."""

from __future__ import annotations

from designer.interop.importer.ir import Body, Op


def _extends(op: Op, inputs: list, earlier: Op, before: list) -> bool:
    """Whether ``op`` (over ``inputs``) concatenates what ``earlier`` did (over ``before``,
    along the same axis) and more."""
    return (
        2 <= len(before) < len(inputs)
        and earlier.params == op.params
        and inputs[: len(before)] == before
    )


def share_prefixes(body: Body) -> None:
    """Rewire each Concat of ``body`` to the longest earlier Concat it extends."""
    concats: list[tuple[Op, list]] = []  # each Concat with its inputs as traced
    for op in body.ops:
        if op.block != "Concat" or op.ports is not None:
            continue
        inputs = list(op.inputs)
        extended = [(e, b) for e, b in concats if _extends(op, inputs, e, b)]
        concats.append((op, inputs))
        if extended:
            longest, before = max(extended, key=lambda pair: len(pair[1]))
            op.inputs = [(longest.id, "out"), *inputs[len(before) :]]
