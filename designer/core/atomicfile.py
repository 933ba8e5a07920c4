"""The one way this tool writes files: whole or not at all, never over something that is no file.

:func:`atomic_write` writes a temporary file next to the target (``.NAME.<pid>.<random>.tmp``),
flushes it and renames it over the target, so a crash leaves the old file or the new one. A
symlink is written through (the file it points to is replaced, the link stays); a device or FIFO
(``/dev/null``, ``/dev/stdout``) is written straight into. New files get ``0o666`` less the
umask, replaced files keep their mode. Temporary files are removed on any exception, and those
left by a killed writer (whose pid is gone) by the next write to the same target.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from pathlib import Path

from designer.core.errors import DesignFileError

_TEMP = re.compile(r"\.(\d+)\.[a-z0-9_]{8}\.tmp")  # what follows ".NAME" in a temporary file's name


def atomic_write(path: str | os.PathLike, payload: bytes) -> None:
    """Write ``payload`` to ``path``: an existing file is replaced whole or left as it was."""
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError(f"atomic_write takes bytes, not {type(payload).__name__}")
    if not os.fspath(path) or os.fspath(path).endswith(os.sep):
        raise _error(path, "give a file name, not a folder")
    info = target_status(path)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise _error(path, "it is a folder; give a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):
        _write_into(path, payload)  # a device or FIFO: never renamed over
        return
    final = Path(os.path.realpath(path))  # through symlinks, to the file itself
    if info is not None and not _same(final, info):
        _write_into(path, payload)  # a magic link (/proc/self/fd/N) that has no real path
        return
    _replace(final, payload, None if info is None else stat.S_IMODE(info.st_mode), path)


def target_status(path: str | os.PathLike) -> os.stat_result | None:
    """The target's status through symlinks; None when it does not exist yet."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _error(path, "it is a symlink loop; point the link at a file") from None
        if exc.errno == errno.ENOTDIR:
            raise _error(path, "the path goes through a file as if it were a folder") from None
        raise


def _same(final: Path, info: os.stat_result) -> bool:
    try:
        mine = final.stat()
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (info.st_dev, info.st_ino)


def _write_into(path: str | os.PathLike, payload: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "wb") as f:
        f.write(payload)


def _replace(final: Path, payload: bytes, mode: int | None, asked: str | os.PathLike) -> None:
    """Write a temporary file beside ``final`` and rename it over ``final``."""
    folder = final.parent
    if not folder.is_dir():
        raise _error(asked, f"folder {str(folder)!r} does not exist; create it first")
    remove_stale_temps(final)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask() if mode is None else mode)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(folder)


def remove_stale_temps(final: Path) -> list[Path]:
    """Delete temporary files of ``final`` whose writing process is gone; returns them."""
    prefix = f".{final.name}"
    removed = []
    try:
        entries = [e.name for e in os.scandir(final.parent) if e.name.startswith(prefix)]
    except OSError:
        return removed
    for name in entries:
        match = _TEMP.fullmatch(name, len(prefix))
        if match and not alive(int(match.group(1))):
            (final.parent / name).unlink(missing_ok=True)
            removed.append(final.parent / name)
    return removed


def alive(pid: int) -> bool:
    """Whether a process with this id exists (ours always does)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process, or a pid out of range
        return pid > 0
    return True


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: not every system can fsync a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _error(path: str | os.PathLike, problem: str) -> Exception:
    return DesignFileError(os.fspath(path), "", f"cannot write: {problem}")
