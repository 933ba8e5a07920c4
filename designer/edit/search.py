"""Finding block types (the palette's and the quick-add's search) and nodes (Find, Ctrl+F)."""

from __future__ import annotations

import difflib

from designer.blocks import REGISTRY, BlockSpec
from designer.core.graph import Design
from designer.core.report import Report
from designer.core.shapes import format_shape


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


def find_nodes(design: Design, report: Report, query: str) -> list[str]:
    """Nodes matching what a user typed, best first: by id or label, block type, or shape.

    ``conv`` finds ``conv1`` and every Conv2d, ``64x32`` (or ``64×32``) every node whose output
    shape contains that run of sizes; ties keep the design's order.
    """
    words = query.strip().lower().replace("×", "x")
    if not words:
        return []
    ranked = []
    for order, node_id in enumerate(design.node_ids()):
        rank = _node_rank(words, node_id, design.node(node_id), report)
        if rank is not None:
            ranked.append((rank, order, node_id))
    return [node_id for _, _, node_id in sorted(ranked)]


def _node_rank(words: str, node_id: str, data: dict, report: Report) -> int | None:
    names = (node_id.lower(), str(data["label"]).lower())
    block = str(data["type"]).lower()
    if words in names:
        return 0
    if any(name.startswith(words) for name in names):
        return 1
    if any(words in name for name in names):
        return 2
    if words == block:
        return 3
    if words in block:
        return 4
    info = report.nodes.get(node_id)
    shapes = [] if info is None else [format_shape(s).lower() for s in info.out_shapes]
    if any(words in shape.replace("×", "x") for shape in shapes):
        return 5
    return None
