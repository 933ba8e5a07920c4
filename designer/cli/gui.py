"""``designer gui [FILE]``: open the node editor (on FILE, or on a new design)."""

from __future__ import annotations

import argparse
import os
import sys

from designer.core.fileformat import load


def window_size(text: str) -> tuple[int, int]:
    """``1600x1000`` -> (1600, 1000), both positive."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        width = height = 0
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a window size like 1600x1000")
    return width, height


def add_parser(sub):
    p = sub.add_parser(
        "gui",
        help="open the visual node editor",
        description="Open the node editor on FILE (a missing FILE starts a new design saved "
        "there). Needs a display: $DISPLAY or $WAYLAND_DISPLAY on Linux.",
    )
    p.add_argument("file", nargs="?", help="design file (.json) to open or create")
    p.add_argument(
        "--size",
        type=window_size,
        default=(1600, 1000),
        metavar="WxH",
        help="window size (default 1600x1000)",
    )
    return p


def has_display() -> bool:
    """Whether a window can be shown (always on Windows and macOS; X11 or Wayland on Linux)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args) -> int:
    if not has_display():
        print(
            "error: designer gui needs a display, and none is set ($DISPLAY is empty). "
            "Run it on a desktop, over ssh -X, or under a virtual display: "
            "xvfb-run designer gui FILE",
            file=sys.stderr,
        )
        return 2
    width, height = args.size
    if args.file and os.path.exists(args.file):
        load(args.file)  # an unreadable file is reported here, before any window opens
    from designer.gui.app import main

    return main(args.file, size=(width, height))
