"""Automatic layered layout, left to right, in which no wire runs under a node.

DearPyGui draws a wire as one bezier curve from its output pin to its input pin, so the lanes of
skip connections come from where the nodes go (:mod:`designer.core.layering` gives the columns
and orders). The rows are the optimum of a linear programme, solved as a min-cost flow (network
simplex, its dual): each wire pulls its two nodes level (a skip wire, pin to pin, eight times as
hard), nodes of a column keep apart, and for every column a skip wire crosses, the nodes above
and below its place stay clear of both its pins: the curve keeps between the heights of its
pins, so it passes through an empty lane.

Sizes are the GUI's measure when it passes them, else an estimate from the text a node shows;
pins sit on the node's rows (a title, the block line, one row per input, one per output).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from designer.core.graph import Design
from designer.core.layering import Dummy, Layering, Wire, layer, together
from designer.core.programme import Programme
from designer.core.registry import UnknownBlockError

COLUMN = 260.0  # canvas pixels a column takes in an evenly spaced row (expand in place)
GAP_X = 90  # pixels between columns (more where wires between them climb far)
STEEP = 0.2  # a column gap is at least this part of the widest climb across it
MAX_GAP = 4000.0  # the widest gap made for a steep wire
CLEARANCE = 4  # pixels a wire keeps from a node it passes
GAP_Y = 40  # pixels between nodes of a column
LANE = 24  # pixels between a skip wire's pins and the nodes its lane passes
MOVES = 3  # times a wire's place may move to the other side of a node to end a conflict
ROUNDS = 200  # conflicts resolved by moving places before the rest drop their lane limits
SKIP_WEIGHT = 8  # a skip wire pulls its ends level this much harder than a short wire

TITLE, ROW_HEIGHT, PIN = 42, 21, 47  # node height = TITLE + rows * ROW_HEIGHT; first pin's y
CHAR, PAD, MIN_WIDTH = 7, 22, 60  # node width = longest line * CHAR + PAD (the GUI's estimate)
SHAPE_CHARS = 14  # room for an output's shape text, "N×512×128×128"

Size = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """A node's size and where its pins are (pixels below its top)."""

    width: float
    height: float
    inputs: dict[str, int]
    outputs: dict[str, int]


def node_ports(design: Design, node_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A node's input and output ports as drawn; a variadic block shows one free input."""
    wired = design.inputs_of(node_id)
    used = {p for p, _, _ in design.outputs_of(node_id)}
    try:
        spec = design.spec(design.node(node_id)["type"])
    except UnknownBlockError:
        return tuple(sorted(wired)), tuple(sorted(used))
    if spec.variadic:
        inputs = spec.input_ports(max(((spec.port_index(p) or 0) + 1 for p in wired), default=0))
    else:
        inputs = spec.inputs
    extra = tuple(p for p in wired if p not in inputs)
    outputs = spec.output_ports(spec.resolve(design.node(node_id)["params"])[0])
    return inputs + extra, outputs + tuple(sorted(used - set(outputs), key=lambda p: (len(p), p)))


def node_box(design: Design, node_id: str, size: Size | None = None) -> Box:
    """Size and pins of a node: ``size`` as measured, else estimated from its text."""
    inputs, outputs = node_ports(design, node_id)
    ports = len(inputs) + len(outputs)
    if size is None:
        width, lines = _estimated_width(design, node_id, inputs, outputs), 1
    else:
        width = size[0]
        lines = max(0, round((size[1] - TITLE) / ROW_HEIGHT) - ports)  # block line(s) shown
    height = TITLE + ROW_HEIGHT * (lines + ports) if size is None else size[1]
    first = PIN + ROW_HEIGHT * lines
    return Box(
        float(width),
        float(height),
        {p: first + ROW_HEIGHT * i for i, p in enumerate(inputs)},
        {p: first + ROW_HEIGHT * (len(inputs) + i) for i, p in enumerate(outputs)},
    )


def _estimated_width(design: Design, node_id: str, inputs: tuple, outputs: tuple) -> float:
    data = design.node(node_id)
    title = len(str(data.get("label", node_id))) + (
        4 + len(str(data["repeat"])) if "repeat" in data else 0
    )
    block = len(data["type"]) + 3 + SHAPE_CHARS  # "Conv2d · 1,792 params", "Output · N×2×64×64"
    named = 2 if len(outputs) > 1 else -SHAPE_CHARS  # several outputs show "name: shape"
    longest = max(
        [title, block, *(len(p) for p in inputs), *(len(p) + named + SHAPE_CHARS for p in outputs)]
    )
    return max(float(MIN_WIDTH), CHAR * longest + PAD)


def boxes(design: Design, sizes: Mapping[str, Size] | None = None) -> dict[str, Box]:
    """Every node's :class:`Box`."""
    sizes = sizes or {}
    return {n: node_box(design, n, sizes.get(n)) for n in design.node_ids()}


def auto_layout(
    design: Design,
    origin: tuple[float, float] = (40.0, 40.0),
    sizes: Mapping[str, Size] | None = None,
) -> None:
    """Give every node a position: columns along the flow, skip wires in lanes of their own.
    ``sizes`` are the nodes' drawn sizes where known (the canvas measures them)."""
    if not len(design):
        return
    shape = boxes(design, sizes)
    layering = layer(design.graph, lambda w, out: _pin_place(shape, w, out))
    ys = rows(layering, shape)
    xs = columns(layering, shape, ys)
    top = min(ys.values())
    for n in design.node_ids():
        x, y = origin[0] + xs[layering.column_of[n]], origin[1] + ys[n] - top
        design.node(n)["pos"] = (float(round(x)), float(round(y)))


def needs_layout(design: Design) -> bool:
    """True when positions are missing (every node at the same point)."""
    return len({design.node(n)["pos"] for n in design.node_ids()}) <= 1 < len(design)


def _pin_place(shape: dict[str, Box], wire: Wire, out: bool) -> float:
    """A pin's height within its node, 0 (top) to 1 (bottom), for ordering."""
    box = shape[wire.src] if out else shape[wire.dst]
    y = (box.outputs if out else box.inputs).get(wire.src_port if out else wire.dst_port)
    return 0.5 if y is None or box.height <= 0 else min(max(y / box.height, 0.0), 0.999)


def _pin(shape: dict[str, Box], wire: Wire, out: bool) -> int:
    box = shape[wire.src] if out else shape[wire.dst]
    y = (box.outputs if out else box.inputs).get(wire.src_port if out else wire.dst_port)
    return int(box.height // 2) if y is None else y


# -- rows: a linear programme over the nodes' tops ------------------------------------------------
def rows(layering: Layering, shape: dict[str, Box]) -> dict[str, int]:
    """Each node's top: columns stacked, wires level where they can be, skip lanes free.

    Lanes that cannot both pass a node (two wires into close pins of one node, one above it and
    one below) are resolved by moving one wire's place to the other side of that node; a conflict
    left once the places involved have moved ``MOVES`` times drops a lane limit."""
    moved: dict[Dummy, int] = {}
    for turn in range(ROUNDS + 1):
        lp = _programme(layering, shape)
        arcs = lp.conflict()
        if arcs is None:
            break
        origins = [lp.bands[a] for a in arcs if a in lp.bands]
        origins = [o for o in origins if not any(moved.get(d, 0) >= MOVES for d, _, _ in o)]
        if not origins or turn == ROUNDS:
            lp.drop_conflicts()
            break
        for dummy, node, below in min(origins, key=len):  # every place that makes this limit
            if moved.get(dummy, 0) < MOVES:
                for d in _move(layering, dummy, node, below):
                    moved[d] = moved.get(d, 0) + 1
    y = lp.solve()
    return {n: y[n] for n in layering.column_of}


def _move(layering: Layering, dummy: Dummy, node: str, below: bool) -> list[Dummy]:
    """Put a wire's place, with the places of wires that share a node with it, on the other
    side of ``node``; returns the places moved."""
    column = layering.columns[dummy.column]
    group = next(g for g in together(layering, column) if dummy in g)
    for d in group:
        column.remove(d)
    at = column.index(node) + (0 if below else 1)
    column[at:at] = group
    return group


def _programme(layering: Layering, shape: dict[str, Box]) -> Programme:
    lp = Programme(list(layering.column_of))
    for column in layering.columns:
        nodes = [i for i in column if isinstance(i, str)]
        for a, b in pairwise(nodes):
            lp.apart(a, b, shape[a].height + GAP_Y)
        _lanes(lp, layering, column, shape)
    for w in layering.wires:
        if layering.span(w) == 1:
            lp.level(w.src, 0, w.dst, 0, 1)
        else:
            lp.level(w.src, _pin(shape, w, True), w.dst, _pin(shape, w, False), SKIP_WEIGHT)
    return lp


def _lanes(lp: Programme, layering: Layering, column: list, shape: dict[str, Box]) -> None:
    """For each skip wire's place: the nearest nodes above and below stay clear of its pins."""
    above: str | None = None
    waiting: list[Dummy] = []
    for item in [*column, None]:
        if isinstance(item, Dummy):
            waiting.append(item)
            if above is not None:
                for end, pin in _ends(layering.wires[item.wire], shape):
                    limit = shape[above].height + LANE - pin
                    lp.apart(above, end, limit, (item, above, True))
            continue
        if item is not None:
            for dummy in waiting:
                for end, pin in _ends(layering.wires[dummy.wire], shape):
                    lp.apart(end, item, pin + LANE, (dummy, item, False))
            above, waiting = item, []


def _ends(wire: Wire, shape: dict[str, Box]) -> tuple[tuple[str, int], tuple[str, int]]:
    """A wire's two nodes, each with the height of the wire's pin on it."""
    return (wire.src, _pin(shape, wire, True)), (wire.dst, _pin(shape, wire, False))


# -- columns: x from the widths, wider gaps where wires climb far ---------------------------------
def columns(layering: Layering, shape: dict[str, Box], ys: Mapping[str, int]) -> list[float]:
    """The left edge of each column. Nodes of a column share its left edge, so a wire leaving
    a narrow node passes over the part of the column its wider neighbours reach into: the gap
    after the column grows until every such wire clears them (and a steep wire never overshoots
    its end: the gap is at least a part of the widest climb across it)."""
    widths = [
        max((shape[i].width for i in c if isinstance(i, str)), default=0.0)
        for c in layering.columns
    ]
    gaps = [float(GAP_X)] * len(widths)
    for w in layering.wires:
        c, span = layering.column_of[w.src], layering.span(w)
        dy = ys[w.dst] + _pin(shape, w, False) - ys[w.src] - _pin(shape, w, True)
        if span == 1:
            gaps[c] = max(gaps[c], STEEP * abs(dy))
        between = sum(widths[k] + GAP_X for k in range(c + 1, c + span))
        before = widths[c] - shape[w.src].width  # from the pin to the column's right edge
        for reach, room in _overhangs(layering, shape, ys, w, dy):
            gaps[c] = max(gaps[c], _gap_for(reach, room, dy, before + between))
    xs, x = [], 0.0
    for width, gap in zip(widths, gaps, strict=True):
        xs.append(x)
        x += math.ceil(width + gap)
    return xs


def _overhangs(
    layering: Layering, shape: dict[str, Box], ys: Mapping[str, int], wire: Wire, dy: float
):
    """For each wider node of the source's column on the side the wire heads to: how far it
    reaches right of the pin, and how far below (or above) the pin it starts."""
    src = wire.src
    pin = ys[src] + _pin(shape, wire, True)
    for m in layering.columns[layering.column_of[src]]:
        if not isinstance(m, str) or m == src or shape[m].width <= shape[src].width:
            continue
        room = ys[m] - pin if dy > 0 else pin - ys[m] - shape[m].height
        if room > 0 and (dy > 0) == (ys[m] > ys[src]):
            yield shape[m].width - shape[src].width, room


def _gap_for(reach: float, room: float, dy: float, fixed: float) -> float:
    """The least gap for which a wire climbing ``dy`` over ``fixed`` + gap pixels moves less
    than ``room`` in its first ``reach`` pixels."""
    clear = room - CLEARANCE
    if _climb(fixed + GAP_X, dy, reach) < clear:
        return GAP_X
    low, high = float(GAP_X), 2.0 * GAP_X
    while _climb(fixed + high, dy, reach) >= clear and high < MAX_GAP:
        low, high = high, 2 * high
    for _ in range(12):
        mid = (low + high) / 2
        low, high = (mid, high) if _climb(fixed + mid, dy, reach) >= clear else (low, mid)
    return high


def _climb(dx: float, dy: float, reach: float) -> float:
    """How far the drawn curve of a wire (a bezier whose handles lie level with its pins, a
    quarter of its length long) has climbed once ``reach`` pixels right of its start."""
    handle = 0.25 * math.hypot(dx, dy)
    for i in range(1, 65):
        t = i / 64
        x = 3 * (1 - t) ** 2 * t * handle + 3 * (1 - t) * t * t * (dx - handle) + t**3 * dx
        if x > reach:
            return abs(dy) * (3 * t * t - 2 * t**3)
    return abs(dy)
