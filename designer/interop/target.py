"""The export's output file: checked writable before any slow work, then replaced atomically."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from designer.core.atomicfile import atomic_write, target_status
from designer.core.fileformat import DesignFileError
from designer.interop.result import ExportError


def writable_target(path: str | os.PathLike) -> Path:
    """The output path, if it can be written: checked before any slow work (exit status 2).

    A symlink is checked where it points; a device such as /dev/null needs only write access."""
    target = Path(path)
    try:
        info = target_status(target)
    except DesignFileError as exc:
        raise ExportError(str(exc), 2) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ExportError(f"{str(target)!r} is a folder; give a file name such as model.onnx", 2)
    if info is not None and not stat.S_ISREG(info.st_mode):
        if not os.access(target, os.W_OK):
            raise ExportError(f"cannot write {str(target)!r}: no permission to write it", 2)
        return target
    folder = Path(os.path.realpath(target)).parent
    if not folder.is_dir():
        raise ExportError(
            f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist; create it first",
            2,
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(
            f"cannot write {str(target)!r}: no permission to write in folder {str(folder)!r}", 2
        )
    return target


def write_atomically(target: Path, payload: bytes) -> None:
    """Atomic replace; any failure leaves an existing file as it was (exit status 2)."""
    try:
        atomic_write(target, payload)
    except DesignFileError as exc:
        raise ExportError(str(exc), 2) from None
    except PermissionError:
        folder = Path(os.path.realpath(target)).parent
        raise ExportError(
            f"cannot write {str(target)!r}: permission denied in folder {str(folder)!r}", 2
        ) from None
    except OSError as exc:
        raise ExportError(
            f"cannot write {str(target)!r}: {exc.strerror or exc}; "
            "an existing file there is unchanged",
            2,
        ) from None
