"""Finding block types by what a user typed (the palette's and the quick-add's search)."""

from __future__ import annotations

import difflib

from designer.blocks import REGISTRY, BlockSpec
from designer.core.graph import Design


def block_types(design: Design | None = None) -> list[BlockSpec]:
    """Every block type a design can use: the registry's, then the design's own composites."""
    local = [] if design is None else [b.spec for b in design.blocks.values()]
    return [*REGISTRY, *local]


def find_blocks(query: str, design: Design | None = None) -> list[BlockSpec]:
    """Block types matching what a user typed, best first.

    Exact name, then name prefix, then a part of the name, then a word of the category or doc,
    then close spellings (``conv2`` finds Conv2d, ``relu`` finds ReLU, ``upsampl`` Upsample).
    """
    words = query.strip().lower()
    specs = block_types(design)
    if not words:
        return specs
    ranked = []
    for order, spec in enumerate(specs):
        rank = _match_rank(words, spec)
        if rank is not None:
            ranked.append((rank, order, spec))
    found = [spec for _, _, spec in sorted(ranked, key=lambda r: r[:2])]
    if not found:
        names = {s.name.lower(): s for s in specs}
        found = [names[n] for n in difflib.get_close_matches(words, names, n=5, cutoff=0.6)]
    return found


def _match_rank(words: str, spec: BlockSpec) -> int | None:
    """How well ``spec`` matches (0 best), or None when it does not match at all."""
    name = spec.name.lower()
    if name == words:
        return 0
    if name.startswith(words):
        return 1
    if words in name:
        return 2
    if words in spec.category.lower() or words in spec.doc.lower():
        return 3
    return None
