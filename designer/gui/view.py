"""The canvas's camera as plain numbers: zoom, fitting, and where new things may land.

No dearpygui here. A :class:`View` maps design positions to the node editor's grid
(``grid = design * zoom + offset``); the screen is the grid shifted by the node editor's own pan.
DearPyGui's node editor cannot scale what it draws, so zooming is semantic: node positions are
scaled while the nodes keep their size, bodies collapse to their title and output shape below
:data:`COMPACT_BELOW`, and below :data:`OVERVIEW_BELOW` the canvas is drawn as a scaled picture
(:mod:`designer.gui.overview`) instead of as nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

Point = tuple[float, float]
Box = tuple[Point, Point]  # (top left, size)

ZOOM_MIN = 0.002
ZOOM_MAX = 1.0
COMPACT_BELOW = 0.85  # node bodies collapse to their title and output shape
OVERVIEW_BELOW = 0.5  # the canvas becomes a scaled picture of the design
WHEEL_STEP = 1.2  # zoom factor of one notch of the mouse wheel
MARGIN = 30.0  # pixels kept free around a fitted design
GAP = 24.0  # pixels kept between a new node and its neighbours
STEP = 30.0  # pixels between the places tried for a new node
RINGS = 40  # rings of places tried around the wanted one


@dataclass(frozen=True)
class View:
    """How the design is shown: ``grid = design * zoom + offset``."""

    zoom: float = 1.0
    offset: Point = (0.0, 0.0)
    overview_below: float = OVERVIEW_BELOW  # raised where nodes would overlap (separating_zoom)

    @property
    def mode(self) -> str:
        """``full`` nodes, ``compact`` nodes (title and output shape), or the ``overview``."""
        if self.zoom < self.overview_below:
            return "overview"
        return "compact" if self.zoom < COMPACT_BELOW else "full"

    @property
    def scales_nodes(self) -> bool:
        """True when node boxes shrink with the zoom (the overview), not only their positions."""
        return self.mode == "overview"

    def grid(self, pos: Point) -> Point:
        return (pos[0] * self.zoom + self.offset[0], pos[1] * self.zoom + self.offset[1])

    def design(self, grid: Point) -> Point:
        return ((grid[0] - self.offset[0]) / self.zoom, (grid[1] - self.offset[1]) / self.zoom)

    def size(self, size: Point) -> Point:
        """How big a node of ``size`` pixels (at 100%) is drawn."""
        scale = self.zoom if self.scales_nodes else 1.0
        return (size[0] * scale, size[1] * scale)

    def centred(self, design: Point, grid: Point) -> View:
        """The same zoom, shifted so that ``design`` lands on ``grid``."""
        return replace(
            self, offset=(grid[0] - design[0] * self.zoom, grid[1] - design[1] * self.zoom)
        )

    def zoomed(self, zoom: float, about: Point) -> View:
        """Zoom to ``zoom`` (clamped) keeping the design point under grid point ``about``."""
        fixed = self.design(about)
        return replace(self, zoom=clamp_zoom(zoom)).centred(fixed, about)

    def panned(self, dx: float, dy: float) -> View:
        return replace(self, offset=(self.offset[0] + dx, self.offset[1] + dy))


def clamp_zoom(zoom: float) -> float:
    if not math.isfinite(zoom):
        return 1.0
    return min(ZOOM_MAX, max(ZOOM_MIN, zoom))


def wheel_zoom(zoom: float, notches: float) -> float:
    """The zoom after turning the wheel ``notches`` (positive: in), snapping to 100%."""
    new = clamp_zoom(zoom * WHEEL_STEP**notches)
    return 1.0 if abs(new - 1.0) < 0.02 else new


def fit(
    boxes: list[Box], area: Box, margin: float = MARGIN, overview_below: float = OVERVIEW_BELOW
) -> View:
    """The view that shows every box inside ``area`` (grid coordinates), centred.

    Nodes keep their size while positions scale, so the zoom that fits positions is tried first;
    when it would be below ``overview_below`` the overview fits boxes that scale too.
    Never zooms in past 100%.
    """
    if not boxes:
        return View(1.0, (area[0][0] + margin, area[0][1] + margin), overview_below)
    room = (max(1.0, area[1][0] - 2 * margin), max(1.0, area[1][1] - 2 * margin))
    zoom = min(ZOOM_MAX, _fixed_size_zoom(boxes, room))
    if zoom < overview_below:
        zoom = min(_scaled_zoom(boxes, room), overview_below * 0.999)
    view = View(clamp_zoom(zoom), (0.0, 0.0), overview_below)
    (left, top), (width, height) = extent(boxes, view)
    centre = (area[0][0] + area[1][0] / 2, area[0][1] + area[1][1] / 2)
    return view.panned(centre[0] - (left + width / 2), centre[1] - (top + height / 2))


def separating_zoom(boxes: list[Box], floor: float = OVERVIEW_BELOW) -> float:
    """The smallest zoom (at least ``floor``, at most 100%) at which nodes that keep their size
    while their positions scale do not overlap: below it the canvas shows the overview.

    Only boxes in neighbouring cells of a grid (a cell: what may overlap at ``floor``) are
    compared, so a large design costs little more than a small one."""
    if not boxes:
        return floor
    cell = (max(b[1][0] for b in boxes) / floor, max(b[1][1] for b in boxes) / floor)
    grid: dict[tuple[int, int], list[Box]] = {}
    for box in boxes:
        key = (int(box[0][0] // cell[0]), int(box[0][1] // cell[1]))
        grid.setdefault(key, []).append(box)
    need = floor
    for (cx, cy), members in grid.items():
        near = [
            b for dx in (-1, 0, 1) for dy in (-1, 0, 1) for b in grid.get((cx + dx, cy + dy), ())
        ]
        for a in members:
            for b in near:
                if b is not a:
                    need = max(need, _apart(a, b))
        if need >= ZOOM_MAX:
            return ZOOM_MAX
    return need


def _apart(a: Box, b: Box) -> float:
    """The zoom from which boxes ``a`` and ``b`` (positions scaled, sizes not) do not overlap."""
    (ax, ay), (aw, ah) = a
    (bx, by), (bw, bh) = b
    dx, dy = bx - ax, by - ay
    along_x = (aw if dx >= 0 else bw) / abs(dx) if dx else math.inf
    along_y = (ah if dy >= 0 else bh) / abs(dy) if dy else math.inf
    return min(along_x, along_y, ZOOM_MAX)


def fit_scaled(boxes: list[Box], area: Box, margin: float = MARGIN) -> View:
    """The view that shows every box inside ``area`` when boxes scale with the zoom."""
    if not boxes:
        return View(1.0, area[0])
    room = (max(1.0, area[1][0] - 2 * margin), max(1.0, area[1][1] - 2 * margin))
    zoom = clamp_zoom(min(ZOOM_MAX, _scaled_zoom(boxes, room)))
    centre = []
    for axis in (0, 1):
        low = min(b[0][axis] for b in boxes)
        high = max(b[0][axis] + b[1][axis] for b in boxes)
        middle = area[0][axis] + area[1][axis] / 2
        centre.append(middle - (low + high) / 2 * zoom)
    return View(zoom, (centre[0], centre[1]))


def _fixed_size_zoom(boxes: list[Box], room: Point) -> float:
    zooms = []
    for axis in (0, 1):
        starts = [b[0][axis] for b in boxes]
        span = max(starts) - min(starts)
        largest = max(b[1][axis] for b in boxes)
        free = room[axis] - largest
        if free <= 0:
            return 0.0
        zooms.append(free / span if span > 0 else math.inf)
    return min(zooms)


def _scaled_zoom(boxes: list[Box], room: Point) -> float:
    zooms = []
    for axis in (0, 1):
        low = min(b[0][axis] for b in boxes)
        high = max(b[0][axis] + b[1][axis] for b in boxes)
        zooms.append(room[axis] / (high - low) if high > low else math.inf)
    return min(zooms)


def extent(boxes: list[Box], view: View) -> Box:
    """The grid rectangle that the boxes cover under ``view``."""
    rects = [(view.grid(pos), view.size(size)) for pos, size in boxes]
    left = min(r[0][0] for r in rects)
    top = min(r[0][1] for r in rects)
    right = max(r[0][0] + r[1][0] for r in rects)
    bottom = max(r[0][1] + r[1][1] for r in rects)
    return (left, top), (right - left, bottom - top)


def overlaps(a: Box, b: Box, gap: float = 0.0) -> bool:
    (ax, ay), (aw, ah) = a
    (bx, by), (bw, bh) = b
    return ax < bx + bw + gap and bx < ax + aw + gap and ay < by + bh + gap and by < ay + ah + gap


def inside(box: Box, area: Box) -> bool:
    (x, y), (w, h) = box
    (ax, ay), (aw, ah) = area
    return ax <= x and ay <= y and x + w <= ax + aw and y + h <= ay + ah


def free_spot(want: Point, size: Point, taken: list[Box], area: Box | None = None) -> Point:
    """The place nearest ``want`` for a box of ``size`` that overlaps none of ``taken``.

    Everything is in design coordinates. ``area``, when given, is the part of the design on
    screen: the box is first moved inside it, and a place inside it wins over a nearer one
    outside (the caller shows a place outside by moving the view).
    """
    if area is not None:
        want = _clamped(want, size, area)
    reach = RINGS * STEP + max(size) + GAP
    near = [
        t
        for t in taken
        if overlaps(((want[0] - reach, want[1] - reach), (2 * reach, 2 * reach)), t)
    ]
    outside: Point | None = None
    for ring in range(RINGS):
        free = [p for p in _ring(want, ring) if not any(overlaps((p, size), t, GAP) for t in near)]
        if not free:
            continue
        best = min(free, key=lambda p: (p[0] - want[0]) ** 2 + (p[1] - want[1]) ** 2)
        shown = [p for p in free if area is None or inside((p, size), area)]
        if shown:
            return min(shown, key=lambda p: (p[0] - want[0]) ** 2 + (p[1] - want[1]) ** 2)
        outside = outside or best
    return outside or (want[0], max((t[0][1] + t[1][1] for t in taken), default=want[1]) + GAP)


def _ring(centre: Point, ring: int, step: float = STEP) -> list[Point]:
    if ring == 0:
        return [centre]
    points = []
    for i in range(-ring, ring + 1):
        for j in (-ring, ring):
            points.append((centre[0] + i * step, centre[1] + j * step))
            if abs(i) != ring:
                points.append((centre[0] + j * step, centre[1] + i * step))
    return points


def _clamped(want: Point, size: Point, area: Box) -> Point:
    (ax, ay), (aw, ah) = area
    x = min(max(want[0], ax), ax + max(0.0, aw - size[0]))
    y = min(max(want[1], ay), ay + max(0.0, ah - size[1]))
    return (x, y)


def clamp_popup(pos: Point, size: Point, screen: Point, margin: float = 8.0) -> Point:
    """A popup's top left so that all of it stays on a screen of ``screen`` pixels."""
    x = min(pos[0], screen[0] - size[0] - margin)
    y = min(pos[1], screen[1] - size[1] - margin)
    return (max(margin, x), max(margin, y))


def estimated_size(lines: list[str], rows: int) -> Point:
    """A node's size in pixels before it has been drawn: its longest line and its rows."""
    longest = max((len(line) for line in lines), default=4)
    return (max(60.0, 7.0 * longest + 22.0), 42.0 + 21.0 * rows)
