"""The camera: zoom, fit, pan and centring of the canvas, the overview and the minimap.

It chooses the :class:`~designer.gui.view.View` the canvas shows and turns screen points into
design points and back. The node editor pans on its own (middle drag) and says nothing about it,
so the screen position of its grid origin is measured right after each frame
(:meth:`Camera.after_frame`); a view worked out with an origin not yet measured (just after a new
design opened, when nothing was on the canvas) is worked out again once it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import dearpygui.dearpygui as dpg

from designer.edit.editor import Editor
from designer.gui.minimap import Minimap
from designer.gui.overview import NodeBox, Overview, Scene, make_scene
from designer.gui.theme import title_colour
from designer.gui.view import (
    COMPACT_BELOW,
    Box,
    Point,
    View,
    extent,
    fit,
    inside,
    separating_zoom,
    wheel_zoom,
)
from designer.gui.viewmodel import Canvas

SETTLE_FRAMES = 3  # frames after which a view that depended on a guessed origin is redone


class Camera:
    """The view of one canvas; expects the canvas's window and node editor items."""

    def __init__(self, editor: Editor, canvas: Canvas, window: int, editor_group: int) -> None:
        self.editor = editor
        self.canvas = canvas
        self.window = window
        self.editor_group = editor_group  # holds the node editor: hidden in the overview
        self.overview = Overview(window)
        self.minimap = Minimap()
        self.origin: Point | None = None  # screen position of grid (0, 0), once measured
        self._redo: tuple[Callable[[], None], int] | None = None
        self._scene: tuple | None = None
        self._panning: Point | None = None
        self._framed: tuple | None = None
        self._scene_at = -1  # the canvas revision the last poll saw
        self._separating: tuple | None = None

    # -- geometry ---------------------------------------------------------------------------------
    def area(self) -> Box:
        """The canvas's screen rectangle (top left, size)."""
        state = dpg.get_item_state(self.window)
        (x, y), (w, h) = state.get("pos") or (0, 0), state.get("rect_size") or (800, 600)
        return (float(x), float(y)), (float(w), float(h))

    def centre(self) -> Point:
        (x, y), (w, h) = self.area()
        return (x + w / 2, y + h / 2)

    def grid_origin(self) -> Point:
        return self.origin or self.area()[0]

    def to_grid(self, screen: Point) -> Point:
        ox, oy = self.grid_origin()
        return (screen[0] - ox, screen[1] - oy)

    def to_design(self, screen: Point) -> Point:
        return self.canvas.view.design(self.to_grid(screen))

    def to_screen(self, pos: Point) -> Point:
        gx, gy = self.canvas.view.grid(pos)
        ox, oy = self.grid_origin()
        return (gx + ox, gy + oy)

    def visible(self) -> Box:
        """The part of the design on the canvas (design coordinates)."""
        (x, y), (w, h) = self.area()
        (x0, y0), (x1, y1) = self.to_design((x, y)), self.to_design((x + w, y + h))
        return (x0, y0), (x1 - x0, y1 - y0)

    def on_screen(self, node_ids: list[str]) -> bool:
        """True when the nodes lie wholly on the canvas."""
        boxes = self.canvas.boxes(node_ids)
        if not boxes:
            return True
        (gx, gy), size = extent(boxes, self.canvas.view)
        ox, oy = self.grid_origin()
        return inside(((gx + ox, gy + oy), size), self.area())

    # -- changing the view ------------------------------------------------------------------------
    def set_view(self, view: View) -> None:
        self._redo = None
        self._apply(view)

    def _apply(self, view: View) -> None:
        self.canvas.set_view(view)
        overview = view.mode == "overview"
        if overview != self.overview.shown:
            dpg.configure_item(self.editor_group, show=not overview)
            self.overview.show(overview, self.area()[1])
        if overview:
            self._draw_overview()

    def fit(self, node_ids: list[str] | None = None) -> None:
        """Show all nodes (or ``node_ids``) as large as they fit, up to 100%."""
        self._again(lambda: self._fit(node_ids))

    def _fit(self, node_ids: list[str] | None) -> None:
        (x, y), size = self.area()
        ox, oy = self.grid_origin()
        boxes = self.canvas.boxes(node_ids)
        self._apply(fit(boxes, ((x - ox, y - oy), size), overview_below=self.overview_below()))

    def overview_below(self) -> float:
        """The zoom below which the design shows as the overview: where its nodes, which keep
        their size while their positions scale, would start to overlap, but no higher than where
        bodies collapse (a layout tight at 100% keeps its full nodes). Cached per redraw."""
        key = (self.canvas.revision, len(self.canvas.sizes))
        if self._separating is None or self._separating[0] != key:
            zoom = min(separating_zoom(self.canvas.boxes()), COMPACT_BELOW)
            self._separating = (key, zoom)
        return self._separating[1]

    def zoom_at(self, screen: Point, notches: float) -> None:
        """The mouse wheel: zoom about the pointer."""
        view = replace(self.canvas.view, overview_below=self.overview_below())
        self.set_view(view.zoomed(wheel_zoom(view.zoom, notches), self.to_grid(screen)))

    def zoom_to(self, zoom: float, screen: Point | None = None) -> None:
        self.set_view(self.canvas.view.zoomed(zoom, self.to_grid(screen or self.centre())))

    def centre_on(self, node_id: str, zoom: float | None = None) -> None:
        """Bring a node to the middle of the canvas (at ``zoom``, else the current zoom)."""
        if node_id not in self.editor.design:
            return
        self._again(lambda: self._centre_on(node_id, zoom))

    def _centre_on(self, node_id: str, zoom: float | None) -> None:
        view = replace(self.canvas.view, zoom=zoom or self.canvas.view.zoom)
        pos = self.editor.design.node(node_id)["pos"]
        w, h = view.size(self.canvas.size_of(node_id))
        cx, cy = self.to_grid(self.centre())
        self._apply(view.centred(pos, (cx - w / 2, cy - h / 2)))

    def look_at(self, pos: Point) -> None:
        """Bring design point ``pos`` to the middle of the canvas (the minimap's click)."""
        self.set_view(self.canvas.view.centred(pos, self.to_grid(self.centre())))

    def redraw_selection(self) -> None:
        """The overview shows the selection in gold: redraw it when it changes."""
        if self.overview.shown:
            self._draw_overview()

    def show_at(self, pos: Point, screen: Point) -> None:
        """Keep design point ``pos`` under screen point ``screen`` (once the origin is known)."""
        self._again(lambda: self._apply(self.canvas.view.centred(pos, self.to_grid(screen))))

    def reveal(self, node_ids: list[str]) -> None:
        """Move the view, if needed, so that these nodes are on the canvas."""

        def check() -> None:
            if node_ids and not self.on_screen(node_ids):
                self._centre_on(node_ids[0], None)

        self._again(check)

    def pan(self, dx: float, dy: float) -> None:
        self.set_view(self.canvas.view.panned(dx, dy))

    @property
    def settling(self) -> bool:
        """True while a view waits for the next frames to be checked against the origin."""
        return self._redo is not None

    def _again(self, action: Callable[[], None]) -> None:
        """Do ``action`` now, and again after the next frames if the origin was a guess."""
        action()
        self._redo = (action, SETTLE_FRAMES)

    # -- every frame ------------------------------------------------------------------------------
    def after_frame(self) -> None:
        """Right after a frame is drawn: measure the origin, redo a view that guessed it."""
        if self.canvas.view.mode != "overview":
            measured = self.canvas.measure()
            if measured is not None:
                self.origin = measured
        if self._redo is not None:
            action, left = self._redo
            self._redo = (action, left - 1) if left > 1 else None
            action()

    def after_sync(self) -> None:
        """After the canvas has drawn an edit: a new design is fitted."""
        if self.canvas.was_reset:
            self.canvas.was_reset = False
            self.fit()
        elif self.canvas.view.mode == "overview":
            self._draw_overview()

    def poll(self, minimap_on: bool) -> None:
        """Each frame: the overview's pan, the minimap's place, content and frame."""
        self._pan_overview()
        show = minimap_on and len(self.editor.design) > 0 and self.canvas.view.mode != "overview"
        self.minimap.show(show)
        if show:
            area = self.area()
            self.minimap.place(area)
            if self._scene_at == self.canvas.revision:  # not in the frame that shows an edit
                self.minimap.draw(self.scene())
            self._scene_at = self.canvas.revision
            key = (area, self.origin, self.canvas.view, self.minimap.view)
            if key != self._framed:
                self._framed = key
                self.minimap.frame(self.visible())

    def _pan_overview(self) -> None:
        """Middle drag pans the overview (the node editor pans itself)."""
        if not self.overview.shown or not dpg.is_mouse_button_down(dpg.mvMouseButton_Middle):
            self._panning = None
            return
        x, y = dpg.get_mouse_pos(local=False)
        if self._panning is not None and (x, y) != self._panning:
            self.pan(x - self._panning[0], y - self._panning[1])
        self._panning = (x, y)

    def _draw_overview(self) -> None:
        self.overview.draw(self.scene(), self.canvas.selection)
        (ax, ay), size = self.area()
        self.overview.show(True, size)
        ox, oy = self.grid_origin()
        self.overview.place(self.canvas.view, (ox - ax, oy - ay))

    def scene(self) -> Scene:
        """The design as boxes and lines (cached until the canvas redraws)."""
        key = (self.canvas.revision, len(self.canvas.sizes))
        if self._scene is None or self._scene[0] != key:
            self._scene = (key, self._make_scene())
        return self._scene[1]

    def _make_scene(self) -> Scene:
        design, canvas = self.editor.design, self.canvas
        boxes = []
        for node_id in design.node_ids():
            view = canvas.views.get(node_id)
            if view is None:
                continue
            category, composite = canvas.family(node_id)
            colour = title_colour(category, composite, view.severity, canvas.device_colour(node_id))
            shape = view.output_text[0] if view.output_text else view.block_line
            pos = design.node(node_id)["pos"]
            boxes.append(NodeBox(node_id, pos, canvas.size_of(node_id), colour, view.title, shape))
        return make_scene(boxes, design.edges())

    def node_at(self, screen: Point) -> str | None:
        """The node under a screen point, in the overview or on the node editor."""
        if self.overview.shown:
            return self.scene().node_at(self.to_design(screen))
        return self.canvas.node_at(screen)
