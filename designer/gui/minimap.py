"""The minimap: the whole design in the canvas's bottom-left corner, with the view's frame.

A small window above the canvas shows every node as a box (in the overview's colours) and the
part of the design the canvas shows as a frame; clicking or dragging in it centres the view
there. The boxes are painted into a texture once per change of the design's layout
(:func:`paint`), so each frame draws one image and one frame, not a second node editor.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from designer.gui.overview import Scene
from designer.gui.view import Box, Point, View, fit_scaled

SIZE = (240.0, 150.0)
INNER = (224, 134)  # the picture, inside the window's padding
FRAME = (255, 255, 255, 220)
BACKGROUND = (0.11, 0.11, 0.13, 1.0)


def paint(scene: Scene, view: View, size: tuple[int, int] = INNER) -> list[float]:
    """The scene's boxes under ``view`` as RGBA pixels (row by row, values in [0, 1])."""
    width, height = size
    pixels = list(BACKGROUND) * (width * height)
    for box in scene.boxes:
        (x, y), (w, h) = view.grid(box.pos), (box.size[0] * view.zoom, box.size[1] * view.zoom)
        x0, y0 = max(0, int(x)), max(0, int(y))
        x1, y1 = min(width, max(x0 + 1, int(x + w))), min(height, max(y0 + 1, int(y + h)))
        colour = [c / 255 for c in box.colour] + [1.0]
        for row in range(y0, y1):
            start = (row * width + x0) * 4
            pixels[start : start + (x1 - x0) * 4] = colour * (x1 - x0)
    return pixels


class Minimap:
    """A floating window drawn over the canvas's corner."""

    def __init__(self) -> None:
        with dpg.window(
            show=False,
            no_title_bar=True,
            no_resize=True,
            no_move=True,
            no_scrollbar=True,
            no_collapse=True,
            no_saved_settings=True,
            no_focus_on_appearing=True,
            width=int(SIZE[0]),
            height=int(SIZE[1]),
        ) as self.window:
            self.drawlist = dpg.add_drawlist(*INNER)
        with dpg.texture_registry():
            self.texture = dpg.add_dynamic_texture(*INNER, list(BACKGROUND) * (INNER[0] * INNER[1]))
        dpg.draw_image(self.texture, (0, 0), INNER, parent=self.drawlist)
        self.view = View()  # design -> minimap drawlist coordinates
        self._scene: Scene | None = None
        self._frame = dpg.draw_rectangle((0, 0), (1, 1), color=FRAME, parent=self.drawlist)
        self._placed: tuple | None = None

    @property
    def shown(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def show(self, on: bool) -> None:
        if on != self.shown:
            dpg.configure_item(self.window, show=on)

    def place(self, canvas: Box) -> None:
        """Keep the window in the bottom-left corner of the canvas."""
        (x, y), (_, h) = canvas
        pos = (int(x + 8), int(y + h - SIZE[1] - 8))
        if pos != self._placed:
            self._placed = pos
            dpg.set_item_pos(self.window, list(pos))

    def draw(self, scene: Scene) -> None:
        """Redraw the boxes when the scene changed."""
        if scene is self._scene or scene == self._scene:
            return
        self._scene = scene
        boxes = [(b.pos, b.size) for b in scene.boxes]
        self.view = fit_scaled(boxes, ((0.0, 0.0), (float(INNER[0]), float(INNER[1]))), 4.0)
        dpg.set_value(self.texture, paint(scene, self.view))

    def frame(self, visible: Box) -> None:
        """Draw the frame of the part of the design on the canvas (design coordinates)."""
        (x, y), (w, h) = visible
        top_left = self.view.grid((x, y))
        bottom_right = self.view.grid((x + w, y + h))
        dpg.configure_item(self._frame, pmin=top_left, pmax=bottom_right)

    def contains(self, screen: Point) -> bool:
        if not self.shown:
            return False
        (x, y), (w, h) = dpg.get_item_pos(self.window), SIZE
        return x <= screen[0] <= x + w and y <= screen[1] <= y + h

    def to_design(self, screen: Point) -> Point:
        """The design point under a screen point inside the minimap."""
        x, y = dpg.get_item_state(self.drawlist).get("rect_min") or dpg.get_item_pos(self.window)
        return self.view.design((screen[0] - x, screen[1] - y))
