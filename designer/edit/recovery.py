"""Recovery files: unsaved work written aside every 30 seconds, offered back after a crash.

Each running editor owns one file, ``recovery-<pid>.json``, in the recovery folder
(``$DESIGNER_RECOVERY_DIR``, else ``$XDG_STATE_HOME/torch-designer/recovery``, else
``~/.local/state/torch-designer/recovery``). A clean exit deletes it; a file whose process is no
longer running is therefore what a crash left behind, and :func:`orphans` lists those.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from designer.core.atomicfile import alive, atomic_write
from designer.core.fileformat import DesignFileError, design_from_dict, design_to_dict
from designer.core.graph import Design

FORMAT = "torch-designer-recovery"
INTERVAL = 30.0  # seconds between autosaves


def default_folder() -> Path:
    """Where recovery files live (see the module docstring)."""
    explicit = os.environ.get("DESIGNER_RECOVERY_DIR")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "torch-designer" / "recovery"


@dataclass(frozen=True)
class Recovered:
    """A recovery file left by an editor that did not exit cleanly."""

    file: Path
    original: str | None  # the design's own file, if it had one
    saved_at: float  # seconds since the epoch

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved_at))
        return f"{self.original or 'an unsaved design'} (autosaved {when})"

    def load(self) -> Design:
        """The design as it was autosaved."""
        data = json.loads(self.file.read_text(encoding="utf-8"))
        return design_from_dict(data["design"], str(self.file))

    def discard(self) -> None:
        self.file.unlink(missing_ok=True)


class Autosaver:
    """Writes one editor's recovery file, at most every ``interval`` seconds, when work changed."""

    def __init__(self, folder: Path | None = None, interval: float = INTERVAL) -> None:
        self.folder = folder or default_folder()
        self.interval = interval
        self.file = self.folder / f"recovery-{os.getpid()}.json"
        self._last_time: float | None = None
        self._last_version: int | None = None

    def due(self, now: float, version: int) -> bool:
        """True when the work changed since the last write and ``interval`` has passed."""
        if version == self._last_version:
            return False
        return self._last_time is None or now - self._last_time >= self.interval

    def next_due(self, version: int) -> float | None:
        """When work of ``version`` is next due to be written (None: nothing to write)."""
        if version == self._last_version:
            return None
        return self._last_time + self.interval if self._last_time is not None else 0.0

    def write(self, design: Design, original: str | None, now: float, version: int) -> Path:
        """Write the recovery file now."""
        self.folder.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FORMAT,
            "original": original,
            "saved_at": time.time(),
            "design": design_to_dict(design),
        }
        atomic_write(self.file, json.dumps(payload).encode("utf-8"))
        self._last_time, self._last_version = now, version
        return self.file

    def start_over(self, now: float | None = None) -> None:
        """Nothing unsaved any more (saved, opened or closed): drop the recovery file."""
        self.file.unlink(missing_ok=True)
        self._last_version = None
        self._last_time = now


def orphans(folder: Path | None = None) -> list[Recovered]:
    """Recovery files whose editor is no longer running, newest first; unreadable ones skipped."""
    folder = folder or default_folder()
    found = []
    for file in folder.glob("recovery-*.json"):
        pid = file.stem.removeprefix("recovery-")
        if pid.isdigit() and alive(int(pid)):
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                continue
            found.append(Recovered(file, data.get("original"), float(data["saved_at"])))
        except (OSError, ValueError, KeyError, TypeError, DesignFileError):
            continue
    return sorted(found, key=lambda r: r.saved_at, reverse=True)
