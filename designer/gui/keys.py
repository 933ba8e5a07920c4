"""The keyboard: the shortcut table (menus, the Help window and the README read it too) and the
reading of key events into chords.

DearPyGui reports the keys pressed in a frame in key-code order, not in the order they were
pressed, and a quick Ctrl+Z can be over before its callback runs. So modifiers are read from the
frame's own key events: a modifier pressed or released in the same batch of events counts as held
for the other keys of that batch (:class:`KeyBatch`), as does one still held now.
"""

from __future__ import annotations

from dataclasses import dataclass

import dearpygui.dearpygui as dpg

Chord = tuple[bool, bool, int]  # (ctrl, shift, key)

CTRL_KEYS = {dpg.mvKey_LControl, dpg.mvKey_RControl, 663}  # 663: ImGui's Ctrl modifier key
SHIFT_KEYS = {dpg.mvKey_LShift, dpg.mvKey_RShift, 664}
IGNORED = set(range(655, 667)) | {dpg.mvKey_LAlt, dpg.mvKey_RAlt}  # mouse buttons, wheel, Alt


@dataclass(frozen=True)
class Shortcut:
    """One line of the key table: what to press, what happens, and the method that does it."""

    keys: str
    what: str
    action: str | None  # the window's method; None for mouse gestures (listed, not dispatched)
    chords: tuple[Chord, ...] = ()


def _k(name: str) -> int:
    return getattr(dpg, f"mvKey_{name}")


def _c(name: str, ctrl: bool = False, shift: bool = False) -> Chord:
    return (ctrl, shift, _k(name))


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut(
        "Ctrl+N / Ctrl+O", "new, open (asks before losing unsaved work)", "new", (_c("N", True),)
    ),
    Shortcut("", "", "open", (_c("O", True),)),
    Shortcut(
        "Ctrl+S / Ctrl+Shift+S", "save, save as (renames the design)", "save", (_c("S", True),)
    ),
    Shortcut("", "", "save_as", (_c("S", True, True),)),
    Shortcut(
        "Ctrl+Z",
        "undo (every edit, moves and parameter changes included)",
        "undo",
        (_c("Z", True),),
    ),
    Shortcut("Ctrl+Shift+Z / Ctrl+Y", "redo", "redo", (_c("Z", True, True), _c("Y", True))),
    Shortcut("Ctrl+C / Ctrl+X", "copy, cut", "copy", (_c("C", True),)),
    Shortcut("", "", "cut", (_c("X", True),)),
    Shortcut(
        "Ctrl+V / Ctrl+D",
        "paste at the pointer, duplicate (never on top of a node)",
        "paste_at_mouse",
        (_c("V", True),),
    ),
    Shortcut("", "", "duplicate_selection", (_c("D", True),)),
    Shortcut("Delete", "delete the selected nodes and wires", "delete_selection", (_c("Delete"),)),
    Shortcut("Ctrl+A", "select every node", "select_all", (_c("A", True),)),
    Shortcut(
        "Escape", "close a menu or popup, else clear the selection", "escape", (_c("Escape"),)
    ),
    Shortcut(
        "Tab / Shift+Tab", "select and show the next / previous node", "next_node", (_c("Tab"),)
    ),
    Shortcut("", "", "previous_node", (_c("Tab", shift=True),)),
    Shortcut(
        "arrow keys",
        "nudge the selection (Shift: 5x further)",
        "nudge_left",
        (_c("Left"), _c("Left", shift=True)),
    ),
    Shortcut("", "", "nudge_right", (_c("Right"), _c("Right", shift=True))),
    Shortcut("", "", "nudge_up", (_c("Up"), _c("Up", shift=True))),
    Shortcut("", "", "nudge_down", (_c("Down"), _c("Down", shift=True))),
    Shortcut("F2", "rename the selected node", "start_rename", (_c("F2"),)),
    Shortcut(
        "Space",
        "quick add: type a block name, Enter adds it at the pointer",
        "open_quick_add",
        (_c("Spacebar"),),
    ),
    Shortcut("Ctrl+F", "find a node by label, block type or shape", "open_find", (_c("F", True),)),
    Shortcut(
        "F / Shift+F", "fit the whole design / the selection in the view", "fit_all", (_c("F"),)
    ),
    Shortcut("", "", "fit_selection", (_c("F", shift=True),)),
    Shortcut(
        "mouse wheel / 1",
        "zoom about the pointer / back to 100%",
        "zoom_reset",
        (_c("1"), _c("0", True)),
    ),
    Shortcut(
        "Ctrl+L", "auto layout (layered, left to right)", "editor_auto_layout", (_c("L", True),)
    ),
    Shortcut(
        "Ctrl+G / Ctrl+Shift+G",
        "group the selection into a block / ungroup",
        "group_selection",
        (_c("G", True),),
    ),
    Shortcut("", "", "ungroup_selection", (_c("G", True, True),)),
    Shortcut(
        "E", "expand the selected block in place / collapse it again", "toggle_expand", (_c("E"),)
    ),
    Shortcut(
        "Ctrl+Enter / Ctrl+Backspace",
        "open a block's definition / go back",
        "open_block",
        (_c("Return", True),),
    ),
    Shortcut("", "", "leave_block", (_c("Back", True),)),
    Shortcut("F5 / Ctrl+E", "run the model / export ONNX", "run_model", (_c("F5"),)),
    Shortcut("", "", "export", (_c("E", True),)),
    Shortcut("F1", "this list of keys", "show_help", (_c("F1"),)),
    Shortcut("Ctrl+Q", "quit", "request_quit", (_c("Q", True),)),
    Shortcut(
        "mouse",
        "click or box-drag to select, Ctrl+click to add, middle-drag to pan, "
        "right-click for the menu, drag a wire into empty space to add a block on it",
        None,
    ),
)
ACTIONS: dict[Chord, str] = {chord: s.action for s in SHORTCUTS if s.action for chord in s.chords}
WHILE_TYPING = {"new", "open", "save", "save_as", "request_quit", "escape", "open_find"}


def key_table() -> list[tuple[str, str]]:
    """(keys, what) rows for the Help window and the README."""
    return [(s.keys, s.what) for s in SHORTCUTS if s.keys]


CHARACTERS: dict[int, str] = {
    **{_k(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"},
    dpg.mvKey_Minus: "-",
    dpg.mvKey_Period: ".",
}


class KeyBatch:
    """The key events of one frame, read into chords once the frame's callbacks have run."""

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.ctrl = False
        self.shift = False

    def press(self, key: int) -> None:
        if not self._modifier(key) and key not in IGNORED:
            self.keys.append(key)

    def release(self, key: int) -> None:
        self._modifier(key)

    def _modifier(self, key: int) -> bool:
        if key in CTRL_KEYS:
            self.ctrl = True
        elif key in SHIFT_KEYS:
            self.shift = True
        else:
            return False
        return True

    def take(self, ctrl_down: bool, shift_down: bool) -> list[Chord]:
        """The chords pressed since the last call; a modifier held now counts too."""
        ctrl, shift = self.ctrl or ctrl_down, self.shift or shift_down
        chords = [(ctrl, shift, key) for key in self.keys]
        self.keys, self.ctrl, self.shift = [], False, False
        return chords


def modifiers_down() -> tuple[bool, bool]:
    """(Ctrl, Shift) as held right now."""
    ctrl = dpg.is_key_down(dpg.mvKey_LControl) or dpg.is_key_down(dpg.mvKey_RControl)
    shift = dpg.is_key_down(dpg.mvKey_LShift) or dpg.is_key_down(dpg.mvKey_RShift)
    return ctrl, shift
