"""What the window's menus, keys and mouse gestures do to the design, on top of editor commands.

:class:`Actions` is mixed into :class:`designer.gui.app.App`. Each method works out what the view
knows (the selection, the pointer, a free place on the canvas) and then calls one editor command.
New nodes land where the user looks (the pointer, else the middle of the canvas), never on top
of another node, and the view follows if that place is off the canvas.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from designer.blocks import UnknownBlockError
from designer.gui.theme import WARNING
from designer.gui.view import Point, estimated_size, free_spot

NUDGE = 10.0  # design pixels an arrow key moves the selection (Shift: five times)
UNKNOWN_SIZE = (200.0, 110.0)  # a copied node no longer on the canvas


def probe_device() -> str:
    """Where a model would run: the CUDA device's name, else the CPU."""
    try:
        import torch
    except ImportError:
        return "cpu (torch not installed)"
    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return "cpu"


class Actions:
    """Editing actions; expects the attributes :class:`~designer.gui.app.App` sets."""

    # -- where new nodes land ---------------------------------------------------------------------
    def landing(self, want: Point, size: Point) -> Point:
        """A free place for a box of ``size`` near design point ``want``, on screen if possible."""
        spot = free_spot(want, size, self.canvas.boxes(), self.camera.visible())
        return (round(spot[0]), round(spot[1]))

    def looked_at(self, size: Point) -> Point:
        """The design point where a box of ``size`` sits centred in the canvas."""
        x, y = self.camera.to_design(self.camera.centre())
        return (x - size[0] / 2, y - size[1] / 2)

    def _block_size(self, name: str) -> Point:
        try:
            spec = self.editor.design.spec(name)
        except UnknownBlockError:
            return UNKNOWN_SIZE
        lines = [name, name, *spec.inputs, "N×000×000×000"]
        return estimated_size(lines, 1 + len(spec.inputs) + len(spec.outputs))

    def _copy_size(self, nodes: list[tuple[str, dict]]) -> Point:
        """The size of a copied fragment: its positions' spread plus its largest node."""
        xs = [attrs["pos"][0] for _, attrs in nodes]
        ys = [attrs["pos"][1] for _, attrs in nodes]
        sizes = [self.canvas.sizes.get(n, UNKNOWN_SIZE) for n, _ in nodes]
        return (
            max(xs) - min(xs) + max(s[0] for s in sizes),
            max(ys) - min(ys) + max(s[1] for s in sizes),
        )

    def _placed(self, node_ids: list[str]) -> None:
        """Select new nodes once drawn, and move the view if they are off the canvas."""
        self._select_next = node_ids
        self.camera.reveal(node_ids)

    # -- adding -----------------------------------------------------------------------------------
    def add_block(self, name: str, at: Point | None = None, params: dict | None = None) -> None:
        """Add a block at design point ``at`` (default: the middle of the canvas), ``params``
        set, and select it."""
        size = self._block_size(name)
        spot = self.landing(at if at is not None else self.looked_at(size), size)
        self._placed([self.editor.add_node(name, spot, params)])

    def add_wired(
        self, name: str, at: Point, wire: tuple[str, str, bool], params: dict | None = None
    ) -> None:
        """Add a block at ``at`` (``params`` set) already wired to pin ``wire`` (node, port, is
        an output)."""
        node, port, output = wire
        spot = self.landing(at, self._block_size(name))
        if output:
            new = self.editor.add_wired(name, spot, source=(node, port), params=params)
        else:
            new = self.editor.add_wired(name, spot, target=(node, port), params=params)
        self._placed([new])

    def paste(self, at: Point | None = None) -> None:
        nodes = self.editor.clipboard.nodes
        if not nodes:
            self.say("nothing to paste: copy nodes first (Ctrl+C)", WARNING)
            return
        size = self._copy_size(nodes)
        self._placed(self.editor.paste(self.landing(at or self.looked_at(size), size)))

    def paste_at_mouse(self) -> None:
        self.paste(self.mouse() if self.over_canvas() else None)

    def duplicate(self, nodes: list[str]) -> None:
        chosen = [n for n in nodes if n in self.editor.design]
        if not chosen:
            self.say("select the nodes to duplicate", WARNING)
            return
        fragment = [(n, self.editor.design.node(n)) for n in chosen]
        x = min(a["pos"][0] for _, a in fragment) + 40
        y = min(a["pos"][1] for _, a in fragment) + 40
        self._placed(self.editor.duplicate(chosen, self.landing((x, y), self._copy_size(fragment))))

    def duplicate_selection(self) -> None:
        self.duplicate(self.canvas.selection)

    def open_quick_add(self, wire: tuple[str, str, bool] | None = None) -> None:
        screen = self.mouse_screen() if self.over_canvas() else self.camera.centre()
        at = self.mouse() if self.over_canvas() else self.looked_at(self._block_size("Conv2d"))
        self.quick_add.open(screen, at, wire)

    def quick_add_at(self, screen: Point, at: Point) -> None:
        """Open Quick add at a screen point; the block lands at design position ``at``."""
        self.quick_add.open(screen, at)

    # -- the selection ----------------------------------------------------------------------------
    def select(self, node_ids: list[str]) -> None:
        """Select nodes from code and show them in the inspector."""
        self.canvas.select(node_ids)
        self.inspector.show(self.canvas.selection)
        self.camera.redraw_selection()

    def focus_node(self, node_id: str | None) -> None:
        """Select a node and bring it to the middle of the canvas (readable: 100% if zoomed far
        out)."""
        if node_id is None or node_id not in self.editor.design:
            return
        self.select([node_id])
        zoom = 1.0 if self.canvas.view.mode == "overview" else None
        self.camera.centre_on(node_id, zoom)

    def select_all(self) -> None:
        self.select(self.editor.design.node_ids())
        self.say(f"selected {len(self.canvas.selection)} nodes")

    def next_node(self, step: int = 1) -> None:
        """Tab: select and show the next node in the design's order (Shift+Tab: previous)."""
        order = self.editor.design.node_ids()
        if not order:
            return
        current = self.canvas.selection[-1] if self.canvas.selection else None
        index = order.index(current) + step if current in order else (0 if step > 0 else -1)
        self.focus_node(order[index % len(order)])

    def previous_node(self) -> None:
        self.next_node(-1)

    def nudge(self, dx: float, dy: float) -> None:
        """Move the selection by an arrow key's step (five times with Shift)."""
        nodes = self.canvas.selection
        if not nodes:
            return
        _, shift = self.modifiers()
        step = NUDGE * (5 if shift else 1)
        design = self.editor.design
        self.editor.move(
            {
                n: (design.node(n)["pos"][0] + dx * step, design.node(n)["pos"][1] + dy * step)
                for n in nodes
            }
        )

    def nudge_left(self) -> None:
        self.nudge(-1, 0)

    def nudge_right(self) -> None:
        self.nudge(1, 0)

    def nudge_up(self) -> None:
        self.nudge(0, -1)

    def nudge_down(self) -> None:
        self.nudge(0, 1)

    def start_rename(self, node_id: str | None = None) -> None:
        """Put the keyboard in the inspector's label field."""
        node_id = node_id or (self.canvas.selection[0] if self.canvas.selection else None)
        if node_id is None:
            self.say("select a node to rename it", WARNING)
            return
        if self.inspector.node != node_id:
            self.select([node_id])
        if self.inspector.label_field is not None:
            dpg.focus_item(self.inspector.label_field)

    # -- editing ----------------------------------------------------------------------------------
    def undo(self) -> None:
        self.say(f"undid {self.editor.undo() or 'nothing'}")

    def redo(self) -> None:
        self.say(f"redid {self.editor.redo() or 'nothing'}")

    def copy(self) -> None:
        self.say(f"copied {self.editor.copy(self.canvas.selection)} nodes")

    def cut(self) -> None:
        self.copy()
        self.delete_selection()

    def delete_selection(self) -> None:
        self.editor.delete(nodes=self.canvas.selection, wires=self.canvas.selected_wires())

    def editor_auto_layout(self) -> None:
        self.editor.auto_layout({n: self.canvas.size_of(n) for n in self.editor.design.node_ids()})

    # -- blocks and the model ---------------------------------------------------------------------
    def group_selection(self) -> None:
        """Ask for a name and the parameters to promote, then group the selected nodes."""
        if not self.canvas.selection:
            self.say("select the nodes to group first", WARNING)
            return
        self.group_dialog.open(self.canvas.selection)

    def ungroup_selection(self) -> None:
        if len(self.canvas.selection) != 1:
            self.say("select one block instance to ungroup", WARNING)
            return
        self._placed(self.editor.ungroup(self.canvas.selection[0]))

    def toggle_expand(self) -> None:
        """Expand the selected block instance in place, or collapse the one a node belongs to;
        a repeated node becomes its chain of copies (undo brings the ×N node back)."""
        if not self.canvas.selection:
            self.say("select a block instance to expand it in place", WARNING)
            return
        node_id = self.canvas.selection[0]
        instance = self.editor.expansion_of(node_id)
        if "repeat" in self.editor.design.node(node_id):
            self._placed(self.editor.expand_repeat(node_id))
            self.say(f"expanded {node_id} into its copies: Ctrl+Z repeats it again")
        elif instance is not None:
            self._placed([self.editor.collapse(instance)])
            self.say(f"collapsed {instance}")
        else:
            self._placed(self.editor.expand(node_id))
            self.say(f"expanded {node_id} in place: E on one of its nodes collapses it again")

    def open_block(self, node_id: str | None = None) -> None:
        """Edit the definition of the selected composite block (the breadcrumb leads back)."""
        node_id = node_id or (self.canvas.selection[0] if self.canvas.selection else None)
        if node_id is None:
            self.say("select a block instance to open it", WARNING)
            return
        self.editor.enter(node_id)
        self.say(f"editing {self.editor.scope[-1][1]}: changes apply to every instance")

    def leave_block(self) -> None:
        if self.editor.scope:
            self.editor.leave(len(self.editor.scope) - 1)
            self.say(f"back to {self.editor.breadcrumb()[-1]}")

    def run_model(self) -> None:
        dpg.set_value(self.tabs, self.run_tab)
        self.run_panel.run()

    def export(self) -> None:
        self.export_dialog.open()

    def split_over_devices(self) -> None:
        """Ask for devices, then split the design into stages over them (one undo step)."""
        if self.editor.scope:
            self.say("go back to the design to split it: a block runs where it is placed", WARNING)
            return
        self.split_dialog.open()

    def _check_device(self) -> None:
        try:
            self.device = probe_device()
        except Exception as exc:  # a broken CUDA setup must not stop the editor
            self.device = f"unknown ({type(exc).__name__})"
