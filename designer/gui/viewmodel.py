"""The canvas view-model: keeps DearPyGui's node editor in step with the editor's design.

It owns the :class:`~designer.gui.idmap.IdMap` (item id <-> node, port, wire), listens to the
editor's changes and applies them once per frame in :meth:`Canvas.sync`, touching only the items
whose content changed. It also converts between the design's coordinates, the node editor's grid
and the screen. It makes no decisions about the design: every edit goes through the editor.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from designer.edit.editor import Change, Editor, EditRefused, Ports
from designer.gui.idmap import IdMap, PortRef, Wire
from designer.gui.present import NodeView, issues_by_node, node_view
from designer.gui.theme import Themes

Point = tuple[float, float]


class Canvas:
    """The node editor's items for one :class:`Editor`."""

    def __init__(self, editor: Editor, node_editor: int | str, themes: Themes) -> None:
        self.editor = editor
        self.node_editor = node_editor
        self.themes = themes
        self.ids = IdMap()
        self.views: dict[str, NodeView] = {}
        self.texts: dict[str, dict[str, object]] = {}  # node -> its text items
        self.drawn: dict[str, tuple] = {}  # node -> (report info, issues, pos, theme) drawn
        self.offset: Point = (0.0, 0.0)  # grid = design position + offset
        self.highlighted: list[str] = []
        self.selection: list[str] = []
        self._origin: Point | None = None
        self._red: set[Wire] = set()  # wires drawn red
        self._pending: set[str] = set()
        self._wires_dirty = False
        self._reset = True
        self._restyle = False  # every node's text to be recomputed (a display option changed)
        self.cost = False  # show MACs and activation memory on nodes
        editor.subscribe(self._on_change)

    # -- following the editor ---------------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        if change.kind == "reset":
            self._reset = True
        self._pending |= change.nodes
        self._wires_dirty |= change.wires

    def show_cost(self, on: bool) -> None:
        """Show each node's MACs and activation memory (redraws every node's text)."""
        self.cost = on
        self._restyle = True

    def redraw_all(self) -> None:
        """Rebuild every item from the design at the next sync (after an unexpected error)."""
        self._reset = True

    @property
    def pending(self) -> bool:
        return self._reset or bool(self._pending) or self._wires_dirty or self._restyle

    def sync(self) -> bool:
        """Apply the changes since the last frame; True if anything was redrawn."""
        if not self.pending:
            return False
        if self._reset:
            self._clear()
        design = self.editor.design
        for node_id in sorted(self._pending - set(design.graph)):
            self._delete_node(node_id)
        grouped = issues_by_node(self.editor.report.issues)
        for node_id in design.node_ids():
            self._sync_node(node_id, grouped.get(node_id, []), node_id in self._pending)
        if self._wires_dirty or self._reset:
            self._sync_wires()
        else:
            self._colour_wires()
        self.selection = [n for n in self.selection if n in design]
        self.highlighted = [n for n in self.highlighted if n in design]
        self._pending.clear()
        self._wires_dirty = self._reset = self._restyle = False
        return True

    def _clear(self) -> None:
        dpg.delete_item(self.node_editor, children_only=True)
        self.ids = IdMap()
        self._red.clear()
        self.views.clear(), self.texts.clear(), self.drawn.clear()
        self.selection, self.highlighted, self.offset = [], [], (0.0, 0.0)

    def _sync_node(self, node_id: str, issues: list, touched: bool) -> None:
        """Draw a node if new, rebuild it if its ports changed, else update what changed."""
        data = self.editor.design.node(node_id)
        info = self.editor.report.nodes.get(node_id)
        state = (info, issues, data["pos"], node_id in self.highlighted, self.cost)
        if not touched and node_id in self.drawn and _same(self.drawn[node_id], state):
            return
        old = self.views.get(node_id)
        known = None if touched or old is None else Ports(old.inputs, old.outputs)
        view = node_view(self.editor, node_id, issues, known, cost=self.cost)
        if old is None or (old.inputs, old.outputs) != (view.inputs, view.outputs):
            self._delete_node(node_id)
            self._draw_node(node_id, view)
            self._wires_dirty = True
        else:
            self._update_node(node_id, old, view, moved=state[2] != self.drawn[node_id][2])
        self.views[node_id], self.drawn[node_id] = view, state

    def _draw_node(self, node_id: str, view: NodeView) -> None:
        texts: dict[str, object] = {"in": {}, "out": []}
        with dpg.node(label=view.title, parent=self.node_editor, pos=self._grid(node_id)) as item:
            with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Static):
                texts["block"] = dpg.add_text(view.block_line)
            for port in view.inputs:
                with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Input) as attr:
                    texts["in"][port] = dpg.add_text(port)
                self.ids.add_port(PortRef(node_id, port, False), attr)
            for port, text in zip(view.outputs, view.output_text, strict=True):
                with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Output) as attr:
                    texts["out"].append(dpg.add_text(text))
                self.ids.add_port(PortRef(node_id, port, True), attr)
        self.ids.add_node(node_id, item)
        self.texts[node_id] = texts
        self._apply_issues(node_id, None, view)

    def _update_node(self, node_id: str, old: NodeView, view: NodeView, moved: bool) -> None:
        item, texts = self.ids.node_item[node_id], self.texts[node_id]
        if old.title != view.title:
            dpg.configure_item(item, label=view.title)
        if old.block_line != view.block_line:
            dpg.set_value(texts["block"], view.block_line)
        for text_item, before, after in zip(
            texts["out"], old.output_text, view.output_text, strict=True
        ):
            if before != after:
                dpg.set_value(text_item, after)
        grid = self._grid(node_id)
        if moved and tuple(dpg.get_item_pos(item)) != tuple(round(v) for v in grid):
            dpg.set_item_pos(item, grid)
        self._apply_issues(node_id, old, view)

    def _apply_issues(self, node_id: str, old: NodeView | None, view: NodeView) -> None:
        """Colour the node and its faulty input pins; the tooltip lists messages and hints."""
        data = self.editor.design.node(node_id)
        spec_category, composite = self._family(data["type"])
        theme = self.themes.for_node(
            spec_category, composite, view.severity, node_id in self.highlighted
        )
        item, texts = self.ids.node_item[node_id], self.texts[node_id]
        if texts.get("theme") != theme:
            dpg.bind_item_theme(item, theme)
            texts["theme"] = theme
        for port, text_item in texts["in"].items():
            bad, was_bad = port in view.bad_ports, old is not None and port in old.bad_ports
            if bad != was_bad or (old is None and bad):
                dpg.configure_item(text_item, color=(255, 90, 90) if bad else (-255, 0, 0, 255))
        if old is not None and old.problems == view.problems:
            return
        tip = texts.pop("tip", None)
        if tip is not None:
            dpg.delete_item(tip)
        if view.problems:
            with dpg.tooltip(parent=texts["block"]) as tip:
                dpg.add_text(view.problems, wrap=420)
            texts["tip"] = tip

    def _family(self, block_type: str) -> tuple[str, bool]:
        try:
            spec = self.editor.design.spec(block_type)
        except KeyError:
            return "Utility", False
        return spec.category, spec.composite is not None

    def _delete_node(self, node_id: str) -> None:
        for wire in self.ids.wires_touching(node_id):
            self._red.discard(wire)
            link = self.ids.drop_wire(wire)
            if link is not None and dpg.does_item_exist(link):
                dpg.delete_item(link)
        for item in self.ids.drop_node(node_id):
            dpg.delete_item(item)
        self.views.pop(node_id, None), self.texts.pop(node_id, None), self.drawn.pop(node_id, None)

    def _sync_wires(self) -> None:
        """Make the links exactly the design's wires; wires into faulty ports are red."""
        wanted = set(self.editor.design.edges())
        for wire in set(self.ids.wire_item) - wanted:
            link = self.ids.drop_wire(wire)
            self._red.discard(wire)
            if link is not None and dpg.does_item_exist(link):
                dpg.delete_item(link)
        for wire in sorted(wanted - set(self.ids.wire_item)):
            out = self.ids.port_item.get(PortRef(wire[0], wire[1], True))
            inp = self.ids.port_item.get(PortRef(wire[2], wire[3], False))
            if out is not None and inp is not None:
                self.ids.add_wire(wire, dpg.add_node_link(out, inp, parent=self.node_editor))
        self._colour_wires()

    def _colour_wires(self) -> None:
        """Wires into a faulty input are red (only links whose state changed are touched)."""
        for wire, link in self.ids.wire_item.items():
            view = self.views.get(wire[2])
            bad = view is not None and wire[3] in view.bad_ports
            if bad != (wire in self._red):
                dpg.bind_item_theme(link, self.themes.error_link if bad else self.themes.link)
                self._red.symmetric_difference_update({wire})

    # -- reading the user's gestures --------------------------------------------------------------
    def wire_for(self, attrs: tuple[int, int]) -> Wire:
        """The wire a user drew between two pins; refused when it joins two inputs or outputs."""
        wire = self.ids.wire_between(*attrs)
        if wire is None:
            raise EditRefused("a wire joins an output pin to an input pin", "drag from a right pin")
        return wire

    def wire_of_link(self, link: int) -> tuple[str, str]:
        """The ``(dst, dst_port)`` of a link item."""
        wire = self.ids.item_wire[link]
        return wire[2], wire[3]

    def refresh_selection(self, dragged: bool) -> bool:
        """Take the node editor's selection after a click in the canvas; True if it changed.

        A drag that selected nothing (a wire drawn from a pin, a pan) keeps the selection; a plain
        click on empty canvas clears it.
        """
        chosen = self.ids.nodes_of(dpg.get_selected_nodes(self.node_editor))
        if (chosen == self.selection and not self.highlighted) or (dragged and not chosen):
            return False
        self.selection = chosen
        self._set_highlight([])
        return True

    def select(self, node_ids: list[str]) -> None:
        """Select nodes from code (DearPyGui cannot): they are highlighted instead."""
        dpg.clear_selected_nodes(self.node_editor)
        self.selection = [n for n in node_ids if n in self.ids.node_item]
        self._set_highlight(self.selection)

    def _set_highlight(self, node_ids: list[str]) -> None:
        previous, self.highlighted = self.highlighted, list(node_ids)
        for node_id in set(previous) ^ set(node_ids):
            if node_id in self.views:
                self._apply_issues(node_id, self.views[node_id], self.views[node_id])

    def selected_wires(self) -> list[tuple[str, str]]:
        """Selected links as ``(dst, dst_port)``."""
        links = self.ids.wires_of(dpg.get_selected_links(self.node_editor))
        return [(w[2], w[3]) for w in links]

    def dragged(self) -> dict[str, Point]:
        """New design positions of selected nodes the user has dragged."""
        moved = {}
        for node_id in self.ids.nodes_of(dpg.get_selected_nodes(self.node_editor)):
            x, y = dpg.get_item_pos(self.ids.node_item[node_id])
            pos = (x - self.offset[0], y - self.offset[1])
            old = self.editor.design.node(node_id)["pos"]
            if abs(pos[0] - old[0]) > 0.5 or abs(pos[1] - old[1]) > 0.5:
                moved[node_id] = pos
        return moved

    # -- coordinates ------------------------------------------------------------------------------
    def _grid(self, node_id: str) -> list[float]:
        x, y = self.editor.design.node(node_id)["pos"]
        return [x + self.offset[0], y + self.offset[1]]

    def origin(self, fallback: Point) -> Point:
        """Screen position of grid (0, 0); it moves when the user pans with the middle button."""
        for item in self.ids.item_node:
            state = dpg.get_item_state(item)
            if state.get("rect_min") and state.get("visible", True):
                pos = dpg.get_item_pos(item)
                self._origin = (state["rect_min"][0] - pos[0], state["rect_min"][1] - pos[1])
                break
        return self._origin or fallback

    def screen_to_design(self, screen: Point, fallback: Point) -> Point:
        ox, oy = self.origin(fallback)
        return (screen[0] - ox - self.offset[0], screen[1] - oy - self.offset[1])

    def node_at(self, screen: Point) -> str | None:
        """The node under a screen point, if any."""
        for node_id, item in self.ids.node_item.items():
            x0, y0 = dpg.get_item_rect_min(item)
            x1, y1 = dpg.get_item_rect_max(item)
            if x0 <= screen[0] <= x1 and y0 <= screen[1] <= y1:
                return node_id
        return None

    def centre_on(self, node_id: str, centre: Point) -> None:
        """Shift the view so that a node's middle lands on the screen point ``centre``."""
        item = self.ids.node_item.get(node_id)
        if item is None:
            return
        (x0, y0), (x1, y1) = dpg.get_item_rect_min(item), dpg.get_item_rect_max(item)
        dx, dy = centre[0] - (x0 + x1) / 2, centre[1] - (y0 + y1) / 2
        self.offset = (self.offset[0] + dx, self.offset[1] + dy)
        for other, node_item in self.ids.node_item.items():
            dpg.set_item_pos(node_item, self._grid(other))

    def rects(self) -> dict[str, tuple[Point, Point]]:
        """Every node's screen rectangle (for tests and overlap checks)."""
        return {
            n: (tuple(dpg.get_item_rect_min(i)), tuple(dpg.get_item_rect_max(i)))
            for n, i in self.ids.node_item.items()
        }


def _same(a: tuple, b: tuple) -> bool:
    """Drawn state equality: report entries by identity (the analyzer reuses unchanged ones)."""
    return a[0] is b[0] and a[1:] == b[1:]
