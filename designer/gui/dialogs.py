"""Windows that come and go: quick add, the canvas context menu, questions, file dialogs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.blocks import REGISTRY
from designer.blocks.presets import PRESETS, find_presets
from designer.edit.editor import find_blocks
from designer.gui.theme import MUTED
from designer.gui.view import clamp_popup

PRESET_NAMES = {p.name: p for p in PRESETS}

if TYPE_CHECKING:
    from designer.gui.host import Host

Point = tuple[float, float]
QUICK_ADD_SIZE = (290.0, 270.0)  # before the first frame tells
MENU_SIZE = (230.0, 240.0)


def place_popup(window: int, screen: Point, guess: Point) -> None:
    """Show a popup at a screen point, moved so that all of it stays in the window."""
    size = tuple(dpg.get_item_rect_size(window)) if dpg.is_item_shown(window) else (0, 0)
    if not size[0]:
        size = guess
    viewport = (dpg.get_viewport_client_width(), dpg.get_viewport_client_height())
    x, y = clamp_popup(screen, size, viewport)
    dpg.configure_item(window, show=True, pos=(int(x), int(y)))


class QuickAdd:
    """Space on the canvas: type part of a block's name, Enter adds the best match at the cursor.

    Opened by dropping a wire on empty canvas, the new block comes wired to that pin. The field
    is filled from the window's key events (letters, digits, Backspace), not by giving it the
    keyboard: a text field takes the keyboard a frame or two late and selects what it holds, so
    the first letters typed right after Space would be lost."""

    def __init__(self, app: Host) -> None:
        self.app = app
        self.at: Point = (0.0, 0.0)
        self.wire: tuple[str, str, bool] | None = None
        with dpg.window(
            label="Add block", show=False, no_collapse=True, autosize=True, no_saved_settings=True
        ) as self.window:
            self.input = dpg.add_input_text(
                hint="type a block name, e.g. conv2d", width=260, readonly=True
            )
            self.matches = dpg.add_listbox(
                [],
                num_items=8,
                width=260,
                callback=app.guard(lambda s, a, u: self.accept(a)),
            )
            dpg.add_text("Enter adds the first match, Esc closes", color=MUTED)

    @property
    def visible(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def open(self, screen: Point, at: Point, wire: tuple[str, str, bool] | None = None) -> None:
        """Show at a screen point; the block will land at design position ``at`` (wired to pin
        ``wire``: node, port, is an output)."""
        self.at, self.wire = at, wire
        dpg.set_value(self.input, "")
        self.update("")
        place_popup(self.window, screen, QUICK_ADD_SIZE)
        label = "Add block" if wire is None else f"Add block wired to {wire[0]}.{wire[1]}"
        dpg.configure_item(self.window, label=label)

    def type_ahead(self, char: str) -> None:
        """A letter or digit typed while the window is open."""
        self.update(dpg.get_value(self.input) + char)

    def backspace(self) -> None:
        self.update(dpg.get_value(self.input)[:-1])

    def update(self, query: str) -> None:
        if dpg.get_value(self.input) != query:
            dpg.set_value(self.input, query)
        names = [s.name for s in find_blocks(query, self.app.editor.design)]
        if query.strip():  # presets after the best block match: "conv 3" finds Conv 3x3 same
            names[1:1] = [p.name for p in find_presets(query)]
        dpg.configure_item(self.matches, items=names)
        if names:
            dpg.set_value(self.matches, names[0])

    def accept(self, name: str | None = None) -> None:
        """Add ``name`` (default: the first match) and close."""
        name = name or dpg.get_value(self.matches)
        self.close()
        preset = PRESET_NAMES.get(name)
        if preset is not None and self.wire is None:
            self.app.add_block(preset.block, self.at, preset.params)
        elif preset is not None:
            self.app.add_wired(preset.block, self.at, self.wire, preset.params)
        elif name and self.wire is not None:
            self.app.add_wired(name, self.at, self.wire)
        elif name:
            self.app.add_block(name, self.at)

    def close(self) -> None:
        dpg.configure_item(self.window, show=False)


class ContextMenu:
    """Right click on the canvas: add any block there, or act on the node under the cursor."""

    def __init__(self, app: Host) -> None:
        self.app = app
        self.at: Point = (0.0, 0.0)
        self.screen: Point = (0.0, 0.0)
        self.node: str | None = None
        with dpg.window(
            popup=True, show=False, no_title_bar=True, autosize=True, no_saved_settings=True
        ) as self.window:
            self.title = dpg.add_text("", color=MUTED)
            with dpg.group() as self.node_items:
                self._item("Rename (F2)", lambda: app.start_rename(self.node))
                self._item("Duplicate (Ctrl+D)", lambda: app.duplicate([self.node]))
                self._item("Delete (Del)", lambda: app.editor.delete(nodes=[self.node]))
                self.expand_item = self._item("Expand in place (E)", self._toggle_expand)
                dpg.add_separator()
            with dpg.menu(label="Add block"):
                for category, specs in REGISTRY.categories().items():
                    with dpg.menu(label=category):
                        for spec in specs:
                            self._item(spec.name, lambda n=spec.name: app.add_block(n, self.at))
            self._item("Quick add... (Space)", lambda: app.quick_add_at(self.screen, self.at))
            self._item("Paste here (Ctrl+V)", lambda: app.paste(self.at))
            self._item("Auto layout (Ctrl+L)", app.editor_auto_layout)

    def _item(self, label: str, action: Callable[[], object]) -> int:
        """A menu entry that closes the menu, then runs ``action``."""
        return dpg.add_menu_item(
            label=label, callback=self.app.guard(lambda s, a, u: self._do(action))
        )

    @property
    def visible(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def open(self, screen: Point, at: Point, node: str | None) -> None:
        """Show at a screen point; ``at`` is the design position, ``node`` the one under it."""
        self.screen, self.at, self.node = screen, at, node
        dpg.set_value(self.title, f"node {node}" if node else "canvas")
        dpg.configure_item(self.node_items, show=node is not None)
        if node is not None:
            expanded = self.app.editor.expansion_of(node)
            label = f"Collapse {expanded} (E)" if expanded else "Expand in place (E)"
            dpg.configure_item(self.expand_item, label=label)
        place_popup(self.window, screen, MENU_SIZE)

    def close(self) -> None:
        dpg.configure_item(self.window, show=False)

    def _toggle_expand(self) -> None:
        self.app.select([self.node])
        self.app.toggle_expand()

    def _do(self, action: Callable[[], object]) -> None:
        dpg.configure_item(self.window, show=False)
        action()


class Question:
    """A modal question with a few buttons, each running its action then closing."""

    def __init__(self, app: Host) -> None:
        self.app = app
        with dpg.window(
            label="torch-designer",
            modal=True,
            show=False,
            no_collapse=True,
            autosize=True,
            no_saved_settings=True,
            no_close=True,
        ) as self.window:
            self.text = dpg.add_text("", wrap=460)
            dpg.add_spacer(height=6)
            self.buttons = dpg.add_group(horizontal=True)

    @property
    def visible(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def ask(self, title: str, text: str, choices: list[tuple[str, Callable[[], object]]]) -> None:
        """Show ``text`` with one button per choice."""
        dpg.configure_item(self.window, label=title)
        dpg.set_value(self.text, text)
        dpg.delete_item(self.buttons, children_only=True)
        for label, action in choices:
            dpg.add_button(
                label=label,
                width=110,
                parent=self.buttons,
                user_data=action,
                callback=self.app.guard(lambda s, a, act: self._answer(act)),
            )
        width, height = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
        dpg.configure_item(self.window, show=True, pos=(width // 2 - 240, height // 2 - 80))

    def _answer(self, action: Callable[[], object]) -> None:
        dpg.configure_item(self.window, show=False)
        action()


class FileDialogs:
    """Open and Save As dialogs for design files; each calls back with the chosen path."""

    def __init__(self, app: Host) -> None:
        self.app = app
        self._then: Callable[[Path], object] = lambda path: None
        self.open_dialog = self._make("Open design", ".json")
        self.save_dialog = self._make("Save design as", ".json")

    def _make(self, label: str, extension: str) -> int:
        with dpg.file_dialog(
            label=label,
            show=False,
            modal=True,
            width=720,
            height=460,
            callback=self.app.guard(lambda s, a, u: self._chosen(a)),
            cancel_callback=lambda s, a: None,
        ) as dialog:
            dpg.add_file_extension(extension, color=(120, 200, 120, 255))
            dpg.add_file_extension(".*")
        return dialog

    @property
    def visible(self) -> bool:
        return any(dpg.is_item_shown(d) for d in (self.open_dialog, self.save_dialog))

    def close(self) -> None:
        for dialog in (self.open_dialog, self.save_dialog):
            dpg.configure_item(dialog, show=False)

    def ask_open(self, then: Callable[[Path], object]) -> None:
        self._then = then
        dpg.configure_item(self.open_dialog, default_path=str(self._folder()), show=True)

    def ask_save(self, then: Callable[[Path], object]) -> None:
        self._then = then
        name = self.app.editor.path.stem if self.app.editor.path else self.app.editor.design.name
        dpg.configure_item(
            self.save_dialog, default_path=str(self._folder()), default_filename=name, show=True
        )

    def _folder(self) -> Path:
        path = self.app.editor.path
        return path.parent.resolve() if path is not None else Path.cwd()

    def _chosen(self, app_data: dict) -> None:
        path = Path(app_data.get("file_path_name") or "")
        if path.name in ("", ".json", ".*"):
            return
        if path.suffix == ".*" or not path.suffix:
            path = path.with_suffix(".json")
        self._then(path)
