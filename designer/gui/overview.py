"""The canvas below :data:`~designer.gui.view.OVERVIEW_BELOW` zoom: the design as a scaled picture.

The node editor cannot shrink its nodes, so when zoomed far out the canvas shows a drawlist
instead: one box per node in its block family's colour (red or amber when it has issues, gold
when selected), its label and output shape while they fit, and a line per wire. The picture is
drawn once in design coordinates (:class:`Scene`) and placed by one transform, so zooming and
panning cost nothing per node; it is redrawn only when the design or the selection changes.
A click selects the node under the pointer, a double click zooms in to 100% on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import dearpygui.dearpygui as dpg

from designer.gui.theme import HIGHLIGHT
from designer.gui.view import Box, Point, View

LABEL_SIZE = 13  # text does not scale with the zoom: labels show once their boxes hold them
CHAR_WIDTH = 7.0  # about, at LABEL_SIZE
LABEL_ZOOMS = {"titles": 0.3, "shapes": 0.42}  # the zoom from which each line is drawn
WIRE = (120, 160, 220, 200)


@dataclass(frozen=True)
class NodeBox:
    """One node as the picture shows it (design coordinates, size at 100%)."""

    node: str
    pos: Point
    size: Point
    colour: tuple[int, int, int]
    title: str
    shape: str


@dataclass(frozen=True)
class Scene:
    """What the overview and the minimap draw."""

    boxes: tuple[NodeBox, ...]
    wires: tuple[tuple[Point, Point], ...]  # from an output's right side to an input's left side

    def box_of(self, node: str) -> NodeBox | None:
        return next((b for b in self.boxes if b.node == node), None)

    def node_at(self, pos: Point) -> str | None:
        """The node whose box holds design point ``pos`` (the topmost: the last drawn)."""
        for box in reversed(self.boxes):
            (x, y), (w, h) = box.pos, box.size
            if x <= pos[0] <= x + w and y <= pos[1] <= y + h:
                return box.node
        return None


def make_scene(boxes: list[NodeBox], edges: list[tuple[str, str, str, str]]) -> Scene:
    """The scene of ``boxes`` with a line for every wire between two of them."""
    by_node = {b.node: b for b in boxes}
    wires = []
    for src, _, dst, _ in edges:
        a, b = by_node.get(src), by_node.get(dst)
        if a is not None and b is not None:
            start = (a.pos[0] + a.size[0], a.pos[1] + a.size[1] / 2)
            wires.append((start, (b.pos[0], b.pos[1] + b.size[1] / 2)))
    return Scene(tuple(boxes), tuple(wires))


def fitted(text: str, width: float) -> str:
    """``text`` cut (with an ellipsis) to about ``width`` pixels of labels."""
    room = int((width - 6) / CHAR_WIDTH)
    if len(text) <= room:
        return text
    return text[: max(0, room - 1)] + "…" if room > 1 else ""


def transform(view: View, shift: Point):
    """The drawlist transform for ``view``; ``shift`` is grid (0, 0) in drawlist coordinates."""
    move = (view.offset[0] + shift[0], view.offset[1] + shift[1])
    return dpg.create_translation_matrix(list(move)) * dpg.create_scale_matrix(
        [view.zoom, view.zoom, 1.0]
    )


class Overview:
    """The drawlist that replaces the node editor when zoomed far out."""

    def __init__(self, parent: int | str) -> None:
        self.drawlist = dpg.add_drawlist(100, 100, parent=parent, show=False)
        self.scene: Scene | None = None
        self.selected: tuple[str, ...] = ()
        self.layers: dict[str, int] = {}
        self._key: tuple | None = None

    @property
    def shown(self) -> bool:
        return bool(dpg.is_item_shown(self.drawlist))

    def show(self, on: bool, size: Point) -> None:
        dpg.configure_item(
            self.drawlist, show=on, width=max(1, int(size[0])), height=max(1, int(size[1]))
        )

    def draw(self, scene: Scene, selected: list[str]) -> None:
        """Redraw the picture (only when the scene or the selection changed)."""
        key = (scene, tuple(selected))
        if key == self._key:
            return
        self._key, self.scene, self.selected = key, scene, tuple(selected)
        dpg.delete_item(self.drawlist, children_only=True)
        self.layers = {
            name: dpg.add_draw_node(parent=self.drawlist)
            for name in ("wires", "boxes", "titles", "shapes")
        }
        for start, end in scene.wires:
            dpg.draw_line(start, end, color=WIRE, thickness=1.5, parent=self.layers["wires"])
        chosen = set(selected)
        for box in scene.boxes:
            self._box(box, box.node in chosen)

    def _box(self, box: NodeBox, selected: bool) -> None:
        (x, y), (w, h) = box.pos, box.size
        outline = HIGHLIGHT if selected else (200, 200, 210)
        dpg.draw_rectangle(
            (x, y),
            (x + w, y + h),
            color=(*outline, 255),
            fill=(*box.colour, 235),
            thickness=3 if selected else 1,
            parent=self.layers["boxes"],
        )
        for line, (layer, text) in enumerate((("titles", box.title), ("shapes", box.shape))):
            shown = fitted(text, w * LABEL_ZOOMS[layer])
            dpg.draw_text(
                (x + 4, y + 2 + 16 * line), shown, size=LABEL_SIZE, parent=self.layers[layer]
            )

    def place(self, view: View, shift: Point) -> None:
        """Show the picture under ``view`` (labels only while they fit)."""
        matrix = transform(view, shift)
        for layer in self.layers.values():
            dpg.apply_transform(layer, matrix)
        for layer, zoom in LABEL_ZOOMS.items():
            if layer in self.layers:
                dpg.configure_item(self.layers[layer], show=view.zoom >= zoom)

    def extent(self) -> list[Box]:
        """The boxes of the picture (for fitting)."""
        return [(b.pos, b.size) for b in self.scene.boxes] if self.scene else []
