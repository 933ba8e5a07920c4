"""The canvas view-model: keeps DearPyGui's node editor in step with the editor's design.

It owns the :class:`~designer.gui.idmap.IdMap` (item id <-> node, port, wire), listens to the
editor's changes and applies them once per frame in :meth:`Canvas.sync`, touching only the items
whose content changed (:mod:`designer.gui.nodeitems`). Node positions go through the
:class:`~designer.gui.view.View` (zoom and offset); the camera (:mod:`designer.gui.camera`) picks
the view. It makes no decisions about the design: every edit goes through the editor.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from designer.blocks import UnknownBlockError
from designer.edit.editor import Change, Editor, EditRefused, Ports
from designer.gui import nodeitems
from designer.gui.idmap import IdMap, PortRef, Wire
from designer.gui.nodeitems import NodeItems
from designer.gui.present import (
    NodeView,
    PlacementView,
    issues_by_node,
    node_view,
    placement_view,
)
from designer.gui.theme import Themes, device_colour
from designer.gui.view import Point, View, estimated_size

NODE_PAD = 8  # a node's reported rect_min is its title's: this far inside its top left corner


class Canvas:
    """The node editor's items for one :class:`Editor`."""

    def __init__(self, editor: Editor, node_editor: int | str, themes: Themes) -> None:
        self.editor = editor
        self.node_editor = node_editor
        self.themes = themes
        self.ids = IdMap()
        self.views: dict[str, NodeView] = {}
        self.items: dict[str, NodeItems] = {}
        self.drawn: dict[str, tuple] = {}  # node -> (report info, issues, pos, flags) drawn
        self.sizes: dict[str, Point] = {}  # node -> its size in pixels at 100%, once measured
        self.view = View()
        self.highlighted: list[str] = []
        self.selection: list[str] = []
        self.revision = 0  # bumped by every sync that redrew something
        self.was_reset = False  # the last sync showed another design (the camera fits it)
        self._fresh: set[str] = set()  # nodes drawn or resized since their size was measured
        self._styled: dict[Wire, str] = {}  # wires drawn other than plain: "error" or "cut"
        self.placement: PlacementView | None = None  # the design's stages and cut wires
        self._placed_at = -1  # the editor version the placement was worked out for
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

    @property
    def compact(self) -> bool:
        return self.view.mode != "full"

    def sync(self) -> bool:
        """Apply the changes since the last frame; True if anything was redrawn."""
        if not self.pending:
            return False
        self.was_reset = self._reset
        if self._reset:
            self._clear()
        self._follow_placement()
        design = self.editor.design
        for node_id in sorted(self._pending - set(design.graph)):
            self._delete_node(node_id)
        grouped = issues_by_node(self.editor.report.issues)
        expanded = self.editor.expanded_nodes()
        for node_id in design.node_ids():
            touched = node_id in self._pending or self._restyle
            self._sync_node(node_id, grouped.get(node_id, []), touched, node_id in expanded)
        if self._wires_dirty or self._reset:
            self._sync_wires()
        else:
            self._colour_wires()
        self.selection = [n for n in self.selection if n in design]
        self.highlighted = [n for n in self.highlighted if n in design]
        self._pending.clear()
        self._wires_dirty = self._reset = self._restyle = False
        self.revision += 1
        return True

    def _follow_placement(self) -> None:
        """Work out the placement again after a change; nodes whose tag or colour changed, and
        the nodes their wires reach, are drawn again (their input tips name the cuts)."""
        if self._placed_at == self.editor.version and not self._reset:
            return
        self._placed_at = self.editor.version
        before, self.placement = self.placement, placement_view(self.editor)
        if _legend(before) != _legend(self.placement):
            self._restyle = True
            return
        old = before.tags if before else {}
        new = self.placement.tags if self.placement else {}
        changed = {n for n in old.keys() | new.keys() if old.get(n) != new.get(n)}
        design = self.editor.design
        for node_id in changed & set(design.graph):
            self._pending.add(node_id)
            self._pending.update(dst for _, dst, _ in design.outputs_of(node_id))

    def device_colour(self, node_id: str) -> tuple[int, int, int] | None:
        """The colour of a node's placement (None in an unplaced design or when untagged)."""
        if self.placement is None:
            return None
        index = self.placement.index(self.placement.tags.get(node_id, ""))
        return None if index is None else device_colour(index)

    def _clear(self) -> None:
        dpg.delete_item(self.node_editor, children_only=True)
        self.ids = IdMap()
        self._styled.clear(), self._fresh.clear()
        self.views.clear(), self.items.clear(), self.drawn.clear(), self.sizes.clear()
        self.selection, self.highlighted = [], []

    def _sync_node(self, node_id: str, issues: list, touched: bool, expanded: bool) -> None:
        """Draw a node if new, rebuild it if its ports changed, else update what changed."""
        data = self.editor.design.node(node_id)
        info = self.editor.report.nodes.get(node_id)
        flags = (node_id in self.highlighted, self.cost, expanded, self.device_colour(node_id))
        state = (info, issues, data["pos"], flags)
        if not touched and node_id in self.drawn and _same(self.drawn[node_id], state):
            return
        old = self.views.get(node_id)
        known = None if touched or old is None else Ports(old.inputs, old.outputs)
        view = node_view(self.editor, node_id, issues, known, self.cost, self.placement)
        if old is None or (old.inputs, old.outputs) != (view.inputs, view.outputs):
            self._delete_node(node_id)
            self._draw_node(node_id, view)
            self._wires_dirty = True
            old = None
        else:
            nodeitems.update(self.items[node_id], old, view)
            if data["pos"] != self.drawn[node_id][2]:
                self._place(node_id)
        if old is None or old.lines() != view.lines():
            self._fresh.add(node_id)
        self.views[node_id], self.drawn[node_id] = view, state
        self._apply_issues(node_id, old, view)

    def _draw_node(self, node_id: str, view: NodeView) -> None:
        items = nodeitems.draw(self.node_editor, view, self._grid(node_id), self.compact)
        for (port, output), attr in items.attributes.items():
            self.ids.add_port(PortRef(node_id, port, output), attr)
        self.ids.add_node(node_id, items.node)
        self.items[node_id] = items

    def _apply_issues(self, node_id: str, old: NodeView | None, view: NodeView) -> None:
        """Colour the node and its faulty input pins; the tooltip lists messages and hints."""
        items = self.items[node_id]
        category, composite = self._family(self.editor.design.node(node_id)["type"])
        expanded = self.drawn[node_id][3][2] if node_id in self.drawn else False
        theme = self.themes.for_node(
            category,
            composite,
            view.severity,
            node_id in self.highlighted,
            expanded,
            self.device_colour(node_id),
        )
        if items.theme != theme:
            dpg.bind_item_theme(items.node, theme)
            items.theme = theme
        nodeitems.colour_ports(items, old, view)
        nodeitems.show_problems(items, old, view)

    def family(self, node_id: str) -> tuple[str, bool]:
        """A node's block category and whether its block is made of blocks."""
        return self._family(self.editor.design.node(node_id)["type"])

    def _family(self, block_type: str) -> tuple[str, bool]:
        try:
            spec = self.editor.design.spec(block_type)
        except UnknownBlockError:
            return "Utility", False
        return spec.category, spec.composite is not None

    def _delete_node(self, node_id: str) -> None:
        for wire in self.ids.wires_touching(node_id):
            self._styled.pop(wire, None)
            link = self.ids.drop_wire(wire)
            if link is not None and dpg.does_item_exist(link):
                dpg.delete_item(link)
        for item in self.ids.drop_node(node_id):
            dpg.delete_item(item)
        self.views.pop(node_id, None), self.items.pop(node_id, None)
        self.drawn.pop(node_id, None), self.sizes.pop(node_id, None)

    def _sync_wires(self) -> None:
        """Make the links exactly the design's wires; wires into faulty ports are red."""
        wanted = set(self.editor.design.edges())
        for wire in set(self.ids.wire_item) - wanted:
            link = self.ids.drop_wire(wire)
            self._styled.pop(wire, None)
            if link is not None and dpg.does_item_exist(link):
                dpg.delete_item(link)
        for wire in sorted(wanted - set(self.ids.wire_item)):
            out = self.ids.port_item.get(PortRef(wire[0], wire[1], True))
            inp = self.ids.port_item.get(PortRef(wire[2], wire[3], False))
            if out is not None and inp is not None:
                self.ids.add_wire(wire, dpg.add_node_link(out, inp, parent=self.node_editor))
        self._colour_wires()

    def _colour_wires(self) -> None:
        """Wires into a faulty input are red, else wires between devices are the cut colour
        and thicker (only links whose state changed are touched)."""
        cuts = self.placement.cuts if self.placement is not None else {}
        themes = {"error": self.themes.error_link, "cut": self.themes.cut_link}
        for wire, link in self.ids.wire_item.items():
            view = self.views.get(wire[2])
            bad = view is not None and wire[3] in view.bad_ports
            style = "error" if bad else "cut" if wire in cuts else ""
            if style != self._styled.get(wire, ""):
                dpg.bind_item_theme(link, themes.get(style, self.themes.link))
                if style:
                    self._styled[wire] = style
                else:
                    self._styled.pop(wire, None)

    def cut_wires(self) -> list[Wire]:
        """The wires drawn as cuts (between two devices)."""
        return sorted(w for w, style in self._styled.items() if style == "cut")

    # -- the view ---------------------------------------------------------------------------------
    def set_view(self, view: View) -> None:
        """Show the design under ``view``: nodes move, bodies collapse or open again."""
        before, self.view = self.view, view
        if before.mode != view.mode and "full" in (before.mode, view.mode):
            for items in self.items.values():
                nodeitems.set_compact(items, self.compact)
        if view.mode != "overview" and (before != view or before.mode == "overview"):
            design = self.editor.design
            for node_id in [n for n in self.items if n in design]:  # the rest go at the sync
                self._place(node_id)

    def _place(self, node_id: str) -> None:
        grid = self._grid(node_id)
        item = self.items[node_id].node
        if tuple(dpg.get_item_pos(item)) != tuple(round(v) for v in grid):
            dpg.set_item_pos(item, grid)

    def _grid(self, node_id: str) -> list[float]:
        return list(self.view.grid(self.editor.design.node(node_id)["pos"]))

    def measure(self) -> Point | None:
        """Right after a frame: the screen point of grid (0, 0), and the new nodes' sizes."""
        origin = None
        for items in self.items.values():
            state = dpg.get_item_state(items.node)
            if (state.get("rect_size") or (0, 0))[0] > 0:
                pos = dpg.get_item_pos(items.node)
                x, y = state["rect_min"]
                origin = (x - NODE_PAD - pos[0], y - NODE_PAD - pos[1])
                break
        if not self.compact:
            for node_id in [n for n in self._fresh if n in self.items]:
                size = dpg.get_item_state(self.items[node_id].node).get("rect_size") or (0, 0)
                if size[0] > 0:
                    self.sizes[node_id] = (float(size[0]), float(size[1]))
                    self._fresh.discard(node_id)
        return origin

    def size_of(self, node_id: str) -> Point:
        """A node's size in pixels at 100% (measured once drawn, estimated before)."""
        if node_id in self.sizes:
            return self.sizes[node_id]
        view = self.views.get(node_id)
        return estimated_size(view.lines(), view.rows) if view else estimated_size([node_id], 3)

    def boxes(self, node_ids: list[str] | None = None) -> list[tuple[Point, Point]]:
        """(design position, size at 100%) of nodes (default: all)."""
        design = self.editor.design
        chosen = design.node_ids() if node_ids is None else node_ids
        return [(design.node(n)["pos"], self.size_of(n)) for n in chosen if n in design]

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
            pos = self.view.design(tuple(dpg.get_item_pos(self.ids.node_item[node_id])))
            old = self.editor.design.node(node_id)["pos"]
            if abs(pos[0] - old[0]) > 0.5 or abs(pos[1] - old[1]) > 0.5:
                moved[node_id] = pos
        return moved

    def node_at(self, screen: Point) -> str | None:
        """The node under a screen point, if any."""
        for node_id, rect in self.rects().items():
            (x0, y0), (x1, y1) = rect
            if x0 <= screen[0] <= x1 and y0 <= screen[1] <= y1:
                return node_id
        return None

    def rects(self) -> dict[str, tuple[Point, Point]]:
        """Every drawn node's screen rectangle (top left, bottom right), pins on its edges."""
        rects = {}
        for node_id, items in self.items.items():
            state = dpg.get_item_state(items.node)
            (x, y), (w, h) = state.get("rect_min") or (0, 0), state.get("rect_size") or (0, 0)
            x, y = x - NODE_PAD, y - NODE_PAD
            rects[node_id] = ((float(x), float(y)), (float(x + w), float(y + h)))
        return rects


def _legend(placement: PlacementView | None) -> tuple:
    """What decides every node's colour: the placement tags in the legend's order."""
    return () if placement is None else tuple((s.tag, s.device) for s in placement.stages)


def _same(a: tuple, b: tuple) -> bool:
    """Drawn state equality: report entries by identity (the analyzer reuses unchanged ones)."""
    return a[0] is b[0] and a[1:] == b[1:]
