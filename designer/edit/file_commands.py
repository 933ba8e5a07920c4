"""The design's file: new, open, save, and crash recovery through the autosaver."""

from __future__ import annotations

import os
from pathlib import Path

from designer.core import layout
from designer.core.fileformat import load, save
from designer.core.graph import Design
from designer.edit.editor_core import Change, EditorCore
from designer.edit.recovery import Recovered
from designer.edit.refused import EditRefused


class FileCommands(EditorCore):
    """Starting, opening, saving and recovering designs (callers ask about unsaved work)."""

    def new(self, name: str = "untitled", path: str | os.PathLike | None = None) -> None:
        """Start an empty design, bound to ``path`` if given (callers ask about unsaved work)."""
        self._reset(Design(name), Path(path) if path is not None else None)

    def open(self, path: str | os.PathLike) -> None:
        """Load a design file; positions are laid out when the file has none."""
        design = load(path)
        if layout.needs_layout(design):
            layout.auto_layout(design)
        self._reset(design, Path(path))

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the design to ``path`` (default: its own file) atomically; returns the path."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise EditRefused("this design has no file yet", "use Save As to choose one")
        save(self.root, target)
        self.path = target
        self._saved_at = self.history.top()
        if self.autosaver is not None:
            self.autosaver.start_over()
        self._emit(Change("saved"))
        return target

    def save_as(self, path: str | os.PathLike) -> Path:
        """Write the design to a new file, which becomes its own; the design takes its name."""
        name = Path(path).stem
        if name:
            self.root.name = name
        return self.save(path)

    def recover(self, found: Recovered) -> None:
        """Continue from a crash's recovery file; the result counts as unsaved work."""
        design = found.load()
        self._reset(design, Path(found.original) if found.original else None)
        self._saved_at = object()  # differs from its file: dirty until saved
        found.discard()
        self._emit(Change("saved"))

    def autosave_if_due(self, now: float) -> Path | None:
        """Write the recovery file when there is unsaved work and the interval has passed."""
        saver = self.autosaver
        if saver is None or not self.dirty or not saver.due(now, self.version):
            return None
        return saver.write(self.root, str(self.path) if self.path else None, now, self.version)

    def autosave_due(self) -> float | None:
        """When the next autosave is due (a ``time.monotonic`` time), None with nothing unsaved."""
        saver = self.autosaver
        return saver.next_due(self.version) if saver is not None and self.dirty else None

    def close(self) -> None:
        """The session ends cleanly: its recovery file is no longer needed."""
        if self.autosaver is not None:
            self.autosaver.start_over()
