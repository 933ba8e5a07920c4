"""Reading a design file's text and parsing its JSON, refusing whatever is not a plain UTF-8 JSON
file: folders, devices, FIFOs, files over the size cap, byte order marks, duplicate keys, numbers
past Python's digit limit, nesting past the stack. Every failure is one :class:`DesignFileError`
naming the file and the fix."""

from __future__ import annotations

import codecs
import errno
import json
import os
import stat
from typing import Any

from designer.core.errors import DesignFileError

MAX_BYTES = 64 * 1024 * 1024


def read_text(path: str | os.PathLike, limit: int = MAX_BYTES) -> str:
    """A regular file's UTF-8 text, reading at most ``limit`` bytes; every failure is one
    :class:`DesignFileError` naming the file and the fix."""
    source = str(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise DesignFileError(source, "", "is a folder, not a design file")
        if not stat.S_ISREG(mode):
            raise DesignFileError(source, "", "not a regular file (a device, FIFO or socket)")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # replaced since the stat above
                raise DesignFileError(source, "", "not a regular file (a device, FIFO or socket)")
            data = f.read(limit + 1)
    except OSError as exc:
        raise DesignFileError(source, "", _os_problem(exc)) from None
    if len(data) > limit:
        raise DesignFileError(source, "", f"file is larger than {limit:,} bytes")
    if data.startswith(codecs.BOM_UTF8):
        raise DesignFileError(
            source, "", "starts with a byte order mark (BOM); save it as UTF-8 without BOM"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DesignFileError(source, "", f"not UTF-8 text (byte {exc.start})") from None


def _os_problem(exc: OSError) -> str:
    """What an operating-system error means for a file we read."""
    problems = {
        errno.ENOENT: "no such file; check the path",
        errno.EISDIR: "is a folder, not a design file",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ELOOP: "too many levels of symbolic links (a link loop?); fix the link",
        errno.ENAMETOOLONG: "the file name is too long",
        errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
        errno.EIO: "input/output error while reading (a failing disk or network share?)",
    }
    return problems.get(exc.errno, f"cannot read: {exc.strerror or exc}")


def parse_json(text: str, source: str = "<string>") -> Any:
    """The parsed JSON of a design file's text."""
    if text.startswith("\ufeff"):
        raise DesignFileError(
            source, "", "starts with a byte order mark (BOM); save it as UTF-8 without BOM"
        )
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise DesignFileError(
            source, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}"
        ) from None
    except _DuplicateKey as exc:
        raise DesignFileError(
            source, "", f"key {exc.args[0]!r} appears twice in one object; keep one of them"
        ) from None
    except ValueError as exc:  # integers over Python's digit limit
        raise DesignFileError(source, "", f"invalid JSON: {exc}") from None
    except RecursionError:
        raise DesignFileError(source, "", "JSON nested too deeply") from None


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return data
