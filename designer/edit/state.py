"""What the editor remembers between sessions: recent files and display settings.

One small JSON file, ``settings.json``, in the editor's state folder (the parent of the recovery
folder: ``$XDG_STATE_HOME/torch-designer`` or ``~/.local/state/torch-designer``, see
:mod:`designer.edit.recovery`). An unreadable file counts as empty; writing is atomic and a
failure to write never stops the editor.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from designer.core.atomicfile import atomic_write
from designer.edit.recovery import default_folder

MAX_RECENT = 10


def settings_file() -> Path:
    return default_folder().parent / "settings.json"


class Settings:
    """Recent design files (newest first) and a few display settings."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or settings_file()
        self.data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(self.data, indent=1).encode("utf-8"))
        except OSError:
            pass  # remembering is a convenience: never an error the user has to deal with

    # -- recent files -----------------------------------------------------------------------------
    def recent(self) -> list[Path]:
        """Recent design files that still exist, newest first."""
        names = self.data.get("recent", [])
        paths = [Path(p) for p in names if isinstance(p, str)]
        return [p for p in paths if p.is_file()][:MAX_RECENT]

    def remember(self, path: str | os.PathLike) -> None:
        """Put a design file at the top of the recent list."""
        full = str(Path(path).resolve())
        names = [p for p in self.data.get("recent", []) if isinstance(p, str) and p != full]
        self.data["recent"] = [full, *names][:MAX_RECENT]
        self._write()

    # -- display ----------------------------------------------------------------------------------
    def get(self, key: str, default: Any) -> Any:
        value = self.data.get(key, default)
        return value if isinstance(value, type(default)) else default

    def set(self, key: str, value: Any) -> None:
        if self.data.get(key) != value:
            self.data[key] = value
            self._write()
