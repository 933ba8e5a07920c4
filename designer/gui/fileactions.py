"""The window's file flows: new, open, import, open recent, save, save as, quit and crash recovery.

:class:`FileActions` is mixed into :class:`designer.gui.app.App`. Unsaved work is asked about
first; every file opened or saved goes to the top of File › Open recent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from designer.edit.recovery import orphans
from designer.gui.theme import WARNING


class FileActions:
    """File actions; expects the attributes :class:`~designer.gui.app.App` sets."""

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
        self.unsaved_then(lambda: self.files.ask_open(self.open_path))

    def import_model(self) -> None:
        """File › Import…: the dialog; the imported design opens once it is written."""
        self.import_dialog.open()

    def open_recent(self, path: Path) -> None:
        self.unsaved_then(lambda: self.open_path(path))

    def open_path(self, path: Path) -> None:
        """Open a design file now (unsaved work was asked about)."""
        self.editor.open(path)
        self._remember(path)
        self.say(f"opened {path}")

    def save(self, then: Callable[[], object] | None = None) -> None:
        """Save to the design's file (asking for one if it has none), then run ``then``."""
        if self.editor.path is None:
            self.save_as(then)
            return
        self._remember(self.editor.save())
        self.say(f"saved {self.editor.path}")
        if then is not None:
            then()

    def save_as(self, then: Callable[[], object] | None = None) -> None:
        def chosen(path: Path) -> None:
            self._remember(self.editor.save_as(path))
            self.say(f"saved {path} as design {self.editor.root.name!r}")
            if then is not None:
                then()

        self.files.ask_save(chosen)

    def _remember(self, path: Path) -> None:
        self.settings.remember(path)
        self.refresh_recent()

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
                ("Later", lambda: self.say("the recovery file is kept for next time", WARNING)),
            ],
        )
