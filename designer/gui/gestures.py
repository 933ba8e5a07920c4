"""Mouse and keyboard in the window: shortcuts, clicks, drags and the wheel on the canvas.

:class:`Gestures` is mixed into :class:`designer.gui.app.App`. Key events of a frame are read into
chords once its callbacks have run (:class:`designer.gui.keys.KeyBatch`) and looked up in
:data:`designer.gui.keys.ACTIONS`. A release on the canvas records moved nodes as one step, then
the selection; a wire dragged from a pin into empty space opens Quick add with the new block
wired to that pin. The wheel zooms about the pointer; the minimap centres the view where it is
clicked or dragged.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from designer.gui.keys import ACTIONS, CHARACTERS, WHILE_TYPING, Chord, modifiers_down

Point = tuple[float, float]
DRAG = 6.0  # pixels the pointer moves before a press counts as a drag
PIN_REACH = 14.0  # pixels beside a node within which a dropped wire is on its pin


class Gestures:
    """Input handlers; expects the attributes :class:`~designer.gui.app.App` sets."""

    def typing(self) -> bool:
        """True while a text field has the keyboard."""
        self.text_inputs = {i for i in self.text_inputs if dpg.does_item_exist(i)}
        return any(dpg.is_item_active(i) for i in self.text_inputs)

    def modifiers(self) -> tuple[bool, bool]:
        """(Ctrl, Shift) of the key being handled, else as held now."""
        return self._chord[:2] if self._chord else modifiers_down()

    # -- keys -------------------------------------------------------------------------------------
    def dispatch_keys(self) -> None:
        """Act on the chords of the frame's key events (after its callbacks have run)."""
        handle = self.guard(lambda s, chord, u: self.on_chord(chord))
        for chord in self.keys.take(*modifiers_down()):
            self._chord = chord
            try:
                handle(None, chord)
            finally:
                self._chord = None

    def on_chord(self, chord: Chord) -> None:
        """One key with its modifiers: a dialog's key, else a shortcut (see the README)."""
        ctrl, shift, key = chord
        if self.question.visible:
            return
        if self.quick_add.visible and self._quick_add_key(ctrl, key):
            return
        if self.find.visible and key in (dpg.mvKey_Return, dpg.mvKey_NumPadEnter):
            self.find.step(-1 if shift else 1)
            return
        action = ACTIONS.get(chord)
        if action is None or (self.typing() and action not in WHILE_TYPING):
            return
        if (self.files.visible or self.group_dialog.visible) and action != "escape":
            return
        getattr(self, action)()

    def _quick_add_key(self, ctrl: bool, key: int) -> bool:
        """Keys for an open Quick add; False for keys it leaves to the shortcuts (Escape)."""
        if key in (dpg.mvKey_Return, dpg.mvKey_NumPadEnter):
            self.quick_add.accept()
            return True
        if key == dpg.mvKey_Escape:
            return False
        if key == dpg.mvKey_Back:
            self.quick_add.backspace()
        elif not ctrl and key in CHARACTERS:
            self.quick_add.type_ahead(CHARACTERS[key])
        return True

    # -- the mouse --------------------------------------------------------------------------------
    def on_wheel(self, notches: float) -> None:
        if self.over_canvas() and not self.camera.minimap.contains(self.mouse_screen()):
            self.camera.zoom_at(self.mouse_screen(), notches)

    def on_press(self) -> None:
        self._pressed_at = self.mouse_screen()
        self._wire_from = None
        if self.camera.minimap.contains(self._pressed_at):
            self._minimap_drag = True
            self.camera.look_at(self.camera.minimap.to_design(self._pressed_at))
        elif self.over_canvas() and not self.camera.overview.shown:
            self._wire_from = self.pin_under_mouse()

    def on_release(self) -> None:
        """After a click or drag in the canvas: record moves as one step, then the selection."""
        if self._minimap_drag:
            self._minimap_drag = False
            return
        if not self.over_canvas():
            return
        x, y = self.mouse_screen()
        dragged = abs(x - self._pressed_at[0]) + abs(y - self._pressed_at[1]) > DRAG
        if self.camera.overview.shown:
            if not dragged:
                node = self.camera.node_at((x, y))
                self.select([node] if node else [])
            return
        if self._wire_from is not None and dragged and self._empty_at((x, y)):
            self.open_quick_add(self._wire_from)
            self._wire_from = None
            return
        moved = self.canvas.dragged()
        if moved:
            self.editor.move(moved)
        if self.canvas.refresh_selection(dragged):
            self.inspector.show(self.canvas.selection)

    def on_double_click(self) -> None:
        """In the overview: zoom in to 100% on the node under the pointer."""
        if self.camera.overview.shown and self.over_canvas():
            node = self.camera.node_at(self.mouse_screen())
            if node is not None:
                self.focus_node(node)

    def on_right_click(self) -> None:
        if self.over_canvas() and not self.camera.minimap.contains(self.mouse_screen()):
            screen = self.mouse_screen()
            self.context_menu.open(screen, self.mouse(), self.camera.node_at(screen))

    def drag_minimap(self) -> None:
        """While the left button is held after a press in the minimap, follow it."""
        if self._minimap_drag and dpg.is_mouse_button_down(dpg.mvMouseButton_Left):
            self.camera.look_at(self.camera.minimap.to_design(self.mouse_screen()))

    def _empty_at(self, screen: Point) -> bool:
        """No node or pin at or near a screen point (a wire dropped there made no link)."""
        near = [(screen[0] + dx, screen[1]) for dx in (-PIN_REACH, 0, PIN_REACH)]
        return self.pin_under_mouse() is None and all(self.camera.node_at(p) is None for p in near)

    def pin_under_mouse(self) -> tuple[str, str, bool] | None:
        """The pin the pointer is on: (node, port, is an output)."""
        for item, ref in self.canvas.ids.item_port.items():
            if dpg.is_item_hovered(item):
                return ref.node, ref.port, ref.output
        return None

    def over_canvas(self) -> bool:
        """True when the pointer is on the canvas itself (not on a window above it)."""
        (x0, y0), (w, h) = self.camera.area()
        x, y = self.mouse_screen()
        if not (x0 <= x < x0 + w and y0 <= y < y0 + h):
            return False
        shown = self.camera.overview.drawlist if self.camera.overview.shown else self.node_editor
        return bool(dpg.is_item_hovered(shown))

    def mouse_screen(self) -> Point:
        x, y = dpg.get_mouse_pos(local=False)
        return (x, y)

    def mouse(self) -> Point:
        """The design position under the mouse."""
        return self.camera.to_design(self.mouse_screen())

    def canvas_centre(self) -> Point:
        return self.camera.centre()
