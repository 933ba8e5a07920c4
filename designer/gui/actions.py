"""What the window's menus, keys and mouse gestures do, on top of the editor's commands.

:class:`Actions` is mixed into :class:`designer.gui.app.App`. Each method works out what the view
knows (the selection, the pointer, a file name from a dialog) and then calls one editor command;
the keyboard table :data:`SHORTCUTS` maps keys to these methods.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dearpygui.dearpygui as dpg

from designer.edit.recovery import orphans
from designer.gui.theme import WARNING

Point = tuple[float, float]


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
    """View helpers and file flows; expects the attributes :class:`~designer.gui.app.App` sets."""

    def add_block(self, name: str, at: Point | None = None) -> None:
        """Add a block at a design position (default: the middle of the canvas) and select it."""
        if at is None:
            state = dpg.get_item_state(self.canvas_window)
            fallback = (state["pos"][0] + 16, state["pos"][1] + 16)
            at = self.canvas.screen_to_design(self.canvas_centre(), fallback)
        self._select_next = [self.editor.add_node(name, (round(at[0]), round(at[1])))]

    def select(self, node_ids: list[str]) -> None:
        """Select nodes from code and show them in the inspector."""
        self.canvas.select(node_ids)
        self.inspector.show(self.canvas.selection)

    def focus_node(self, node_id: str | None) -> None:
        """Select a node and bring it to the middle of the canvas."""
        if node_id is None or node_id not in self.editor.design:
            return
        self.select([node_id])
        self.canvas.centre_on(node_id, self.canvas_centre())

    def start_rename(self, node_id: str | None = None) -> None:
        """Put the keyboard in the inspector's label field."""
        node_id = node_id or (self.canvas.selection[0] if self.canvas.selection else None)
        if node_id is None:
            self.say("select a node to rename it", WARNING)
            return
        if self.inspector.node != node_id:
            self.select([node_id])
        dpg.focus_item(self.inspector.label_field)

    def open_quick_add(self) -> None:
        screen = self.mouse_screen() if self.over_canvas() else self.canvas_centre()
        self.quick_add_at(screen, self.mouse() if self.over_canvas() else self._centre_design())

    def quick_add_at(self, screen: Point, at: Point) -> None:
        """Open Quick add at a screen point; the block lands at design position ``at``."""
        self.quick_add.open(screen, at)

    def _centre_design(self) -> Point:
        state = dpg.get_item_state(self.canvas_window)
        fallback = (state["pos"][0] + 16, state["pos"][1] + 16)
        return self.canvas.screen_to_design(self.canvas_centre(), fallback)

    def undo(self) -> None:
        self.say(f"undid {self.editor.undo() or 'nothing'}")

    def redo(self) -> None:
        self.say(f"redid {self.editor.redo() or 'nothing'}")

    def copy(self) -> None:
        self.say(f"copied {self.editor.copy(self.canvas.selection)} nodes")

    def cut(self) -> None:
        self.copy()
        self.delete_selection()

    def paste(self, at: Point | None = None) -> None:
        self._select_next = self.editor.paste(at)

    def paste_at_mouse(self) -> None:
        self.paste(self.mouse() if self.over_canvas() else None)

    def duplicate(self, nodes: list[str]) -> None:
        self._select_next = self.editor.duplicate(nodes)

    def duplicate_selection(self) -> None:
        self.duplicate(self.canvas.selection)

    def delete_selection(self) -> None:
        self.editor.delete(nodes=self.canvas.selection, wires=self.canvas.selected_wires())

    def show_minimap(self, on: bool) -> None:
        """The overview in the canvas corner (it redraws every node: slower on big designs)."""
        dpg.configure_item(self.node_editor, minimap=on)

    def editor_auto_layout(self) -> None:
        self.editor.auto_layout()

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
        self._select_next = self.editor.ungroup(self.canvas.selection[0])

    def open_block(self, node_id: str | None = None) -> None:
        """Edit the definition of the selected composite block (the breadcrumb leads back)."""
        node_id = node_id or (self.canvas.selection[0] if self.canvas.selection else None)
        if node_id is None:
            self.say("select a block instance to open it", WARNING)
            return
        self.editor.enter(node_id)
        self.say(f"editing {self.editor.scope[-1][1]}: changes apply to every instance")

    def leave_block(self) -> None:
        self.editor.leave(len(self.editor.scope) - 1) if self.editor.scope else None

    def run_model(self) -> None:
        dpg.set_value(self.tabs, self.run_tab)
        self.run_panel.run()

    def export(self) -> None:
        self.export_dialog.open()

    # -- files ------------------------------------------------------------------------------------
    def unsaved_then(self, action: Callable[[], object]) -> None:
        """Run ``action`` now, or after asking what to do with unsaved work."""
        if not self.editor.dirty:
            action()
            return
        self.question.ask(
            "Unsaved changes",
            f"{self.editor.display_name} has unsaved changes. Save them first?",
            [
                ("Save", lambda: self.save(then=action)),
                ("Discard", action),
                ("Cancel", lambda: self.say("cancelled")),
            ],
        )

    def new(self) -> None:
        self.unsaved_then(self.editor.new)

    def open(self) -> None:
        self.unsaved_then(lambda: self.files.ask_open(self._open_file))

    def _open_file(self, path: Path) -> None:
        self.editor.open(path)
        self.say(f"opened {path}")

    def save(self, then: Callable[[], object] | None = None) -> None:
        """Save to the design's file (asking for one if it has none), then run ``then``."""
        if self.editor.path is None:
            self.save_as(then)
            return
        self.say(f"saved {self.editor.save()}")
        if then is not None:
            then()

    def save_as(self, then: Callable[[], object] | None = None) -> None:
        def chosen(path: Path) -> None:
            self.say(f"saved {self.editor.save_as(path)}")
            if then is not None:
                then()

        self.files.ask_save(chosen)

    def request_quit(self) -> None:
        self.unsaved_then(self.quit)

    def quit(self) -> None:
        self.running = False

    def _offer_recovery(self) -> None:
        found = orphans(self.recovery_folder)
        if not found:
            return
        latest = found[0]
        self.question.ask(
            "Recover unsaved work?",
            f"torch-designer did not close cleanly. Recover {latest.describe()}?",
            [
                ("Recover", lambda: self.editor.recover(latest)),
                ("Discard", latest.discard),
                ("Later", lambda: self.say("the recovery file is kept for next time")),
            ],
        )

    def _check_device(self) -> None:
        try:
            self.device = probe_device()
        except Exception as exc:  # a broken CUDA setup must not stop the editor
            self.device = f"unknown ({type(exc).__name__})"


SHORTCUTS: dict[tuple[bool, bool, int], str] = {
    (True, False, dpg.mvKey_Z): "undo",
    (True, True, dpg.mvKey_Z): "redo",
    (True, False, dpg.mvKey_Y): "redo",
    (True, False, dpg.mvKey_N): "new",
    (True, False, dpg.mvKey_O): "open",
    (True, False, dpg.mvKey_S): "save",
    (True, True, dpg.mvKey_S): "save_as",
    (True, False, dpg.mvKey_C): "copy",
    (True, False, dpg.mvKey_X): "cut",
    (True, False, dpg.mvKey_V): "paste_at_mouse",
    (True, False, dpg.mvKey_D): "duplicate_selection",
    (True, False, dpg.mvKey_L): "editor_auto_layout",
    (True, False, dpg.mvKey_Q): "request_quit",
    (False, False, dpg.mvKey_Delete): "delete_selection",
    (False, False, dpg.mvKey_F2): "start_rename",
    (True, False, dpg.mvKey_G): "group_selection",
    (True, True, dpg.mvKey_G): "ungroup_selection",
    (True, False, dpg.mvKey_Return): "open_block",
    (True, False, dpg.mvKey_Back): "leave_block",
    (False, False, dpg.mvKey_F5): "run_model",
    (True, False, dpg.mvKey_E): "export",
    (False, False, dpg.mvKey_Spacebar): "open_quick_add",
}
WHILE_TYPING = {"new", "open", "save", "save_as", "request_quit"}
