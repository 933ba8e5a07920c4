"""Formatting generated files with ruff, when it is installed."""

from __future__ import annotations

import subprocess


def ruff_bin() -> str | None:
    """The ruff executable, when ruff is installed."""
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        import shutil

        return shutil.which("ruff")
    try:
        return str(find_ruff_bin())
    except FileNotFoundError:
        return None


def ruff_format(source: str) -> str:
    """``ruff format`` the source (line length 100); unchanged when ruff is not available."""
    exe = ruff_bin()
    if exe is None:
        return source
    done = subprocess.run(
        [exe, "format", "--isolated", "--line-length", "100", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout if done.returncode == 0 else source
