"""A private X display (Xvfb) for tests, benchmarks and screenshots; no dearpygui import here.

:func:`virtual_display` starts ``Xvfb`` on a free display number (Xvfb picks it: ``-displayfd``),
points ``$DISPLAY`` at it and stops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

SCREEN = "1920x1200x24"


def have_xvfb() -> bool:
    return shutil.which("Xvfb") is not None


@contextmanager
def virtual_display(screen: str = SCREEN, timeout: float = 10.0) -> Iterator[str]:
    """Run Xvfb on a free display for the duration; yields ``:N`` and sets ``$DISPLAY``."""
    if not have_xvfb():
        raise RuntimeError("Xvfb is not installed (apt-get install xvfb)")
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    os.close(write)
    try:
        number = _read_display(read, proc, timeout)
        display = f":{number}"
        previous = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = display
        try:
            yield display
        finally:
            if previous is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = previous
    finally:
        os.close(read)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _die_with_parent() -> None:
    """In the child: end Xvfb if the process that started it dies (a crashed test run)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _read_display(fd: int, proc: subprocess.Popen, timeout: float) -> str:
    """The display number Xvfb writes to ``fd`` once it accepts connections."""
    import select

    text = b""
    while not text.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], timeout)
        chunk = os.read(fd, 64) if ready else b""
        if not chunk:
            raise RuntimeError(f"Xvfb did not start (exit status {proc.poll()})")
        text += chunk
    return text.decode().strip()
