"""What the panels and dialogs may use of the window: the editor, messages, a few commands.

:class:`Host` is the narrow interface every panel is given instead of the whole
:class:`designer.gui.app.App` (which implements it): a panel that needs another panel goes through
one of its methods, so no panel imports the window and the window is free to rearrange itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from designer.edit.editor import Editor
    from designer.gui.theme import Themes
    from designer.run.session import RunResult

Point = tuple[float, float]


class Host(Protocol):
    """The window as its panels see it."""

    editor: Editor
    themes: Themes
    mono_font: int | None  # the monospace font for code, if one was found
    recovery_folder: Path  # where unsaved work is kept (its parent holds the editor's state)

    # -- callbacks and messages -------------------------------------------------------------------
    def guard(self, fn: Callable) -> Callable:
        """Wrap a DearPyGui callback: refusals and errors go to the status bar, never a crash."""

    def say(self, text: str, colour: tuple = ...) -> None:
        """Show a message in the status bar."""

    def unsaved_then(self, action: Callable[[], object]) -> None:
        """Run ``action`` now, or after asking what to do with unsaved work."""

    def open_path(self, path: Path) -> None:
        """Open a design file (unsaved work was asked about)."""

    def add_text_input(self, item: int) -> None:
        """A text field: most shortcuts are off while it has the keyboard."""

    # -- the canvas -------------------------------------------------------------------------------
    def selected_nodes(self) -> list[str]:
        """The nodes selected on the canvas."""

    def select_after_edit(self, node_ids: list[str]) -> None:
        """Select these nodes once the canvas shows the edit that made them."""

    def node_items(self) -> dict[str, int]:
        """The canvas's node items by node id (to add lines to a node)."""

    def focus_node(self, node_id: str | None) -> None:
        """Select a node and bring it to the middle of the canvas."""

    def select(self, node_ids: list[str]) -> None:
        """Select nodes now (and show them in the inspector)."""

    # -- commands ---------------------------------------------------------------------------------
    def add_block(self, name: str, at: Point | None = None, params: dict | None = None) -> None:
        """Add a block (its ``params`` set) at ``at`` or where blocks land, and select it."""

    def add_wired(
        self, name: str, at: Point, wire: tuple[str, str, bool], params: dict | None = None
    ) -> None:
        """Add a block at ``at`` (``params`` set) wired to a pin (node, port, is an output)."""

    def toggle_expand(self) -> None:
        """Expand the selected block instance in place, or collapse it again."""

    def start_rename(self, node_id: str | None = None) -> None: ...

    def duplicate(self, nodes: list[str]) -> None: ...

    def paste(self, at: Point | None = None) -> None: ...

    def editor_auto_layout(self) -> None: ...

    def quick_add_at(self, screen: Point, at: Point) -> None:
        """Open Quick add at a screen point; the block lands at design position ``at``."""

    # -- the Run, Cost and Export tabs ------------------------------------------------------------
    def last_run(self) -> RunResult | None:
        """The Run tab's last result, if any."""

    def run_in_progress(self) -> bool: ...

    def refresh_costs(self) -> None: ...

    def use_weights(self, path: Path) -> int:
        """Run and Export ONNX use the weights in ``path`` from now on (raises RunFailed);
        returns how many tensors were read."""
