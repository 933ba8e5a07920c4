"""Mouse and keyboard in the window: shortcuts, clicks and drags on the canvas, the pointer.

:class:`Gestures` is mixed into :class:`designer.gui.app.App`. Keys go through the table
:data:`designer.gui.actions.SHORTCUTS`; a release on the canvas records moved nodes as one step and
then the selection.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from designer.gui.actions import SHORTCUTS, WHILE_TYPING

Point = tuple[float, float]


class Gestures:
    """Input handlers; expects the attributes :class:`~designer.gui.app.App` sets."""

    def typing(self) -> bool:
        """True while a text field has the keyboard."""
        self.text_inputs = {i for i in self.text_inputs if dpg.does_item_exist(i)}
        return any(dpg.is_item_active(i) for i in self.text_inputs)

    def on_key(self, key: int) -> None:
        """Keyboard shortcuts (see the README); ignored while a dialog is open."""
        if self.question.visible or self.files.visible or self.group_dialog.visible:
            return
        if self.quick_add.visible:
            if key in (dpg.mvKey_Return, dpg.mvKey_NumPadEnter):
                self.quick_add.accept()
            elif key == dpg.mvKey_Escape:
                self.quick_add.close()
            return
        ctrl = dpg.is_key_down(dpg.mvKey_LControl) or dpg.is_key_down(dpg.mvKey_RControl)
        shift = dpg.is_key_down(dpg.mvKey_LShift) or dpg.is_key_down(dpg.mvKey_RShift)
        action = SHORTCUTS.get((ctrl, shift, key))
        if action is None or (self.typing() and action not in WHILE_TYPING):
            return
        getattr(self, action)()

    def on_release(self) -> None:
        """After a click or drag in the canvas: record moves as one step, then the selection."""
        if not self.over_canvas():
            return
        moved = self.canvas.dragged()
        if moved:
            self.editor.move(moved)
        x, y = self.mouse_screen()
        dragged = abs(x - self._pressed_at[0]) + abs(y - self._pressed_at[1]) > 4
        if self.canvas.refresh_selection(dragged):
            self.inspector.show(self.canvas.selection)

    def on_press(self) -> None:
        self._pressed_at = self.mouse_screen()

    def on_right_click(self) -> None:
        if self.over_canvas():
            screen = self.mouse_screen()
            self.context_menu.open(screen, self.mouse(), self.canvas.node_at(screen))

    def over_canvas(self) -> bool:
        state = dpg.get_item_state(self.canvas_window)
        (x0, y0), (w, h) = state["pos"], state["rect_size"]
        x, y = self.mouse_screen()
        return x0 <= x < x0 + w and y0 <= y < y0 + h

    def mouse_screen(self) -> Point:
        x, y = dpg.get_mouse_pos(local=False)
        return (x, y)

    def mouse(self) -> Point:
        """The design position under the mouse."""
        state = dpg.get_item_state(self.canvas_window)
        fallback = (state["pos"][0] + 16, state["pos"][1] + 16)
        return self.canvas.screen_to_design(self.mouse_screen(), fallback)

    def canvas_centre(self) -> Point:
        state = dpg.get_item_state(self.canvas_window)
        return (
            state["pos"][0] + state["rect_size"][0] / 2,
            state["pos"][1] + state["rect_size"][1] / 2,
        )
