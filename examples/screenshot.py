"""Render examples/unet.json in the editor under Xvfb and save docs/unet_editor.png (README).

Run: ``python examples/screenshot.py [DESIGN] [OUT.png] [NODE]`` (or ``scripts/screenshot``); NODE
is selected, so the inspector shows it (default: up1). Needs Xvfb;
the picture is made from the real window, so it stays current with the editor.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from designer.edit.editor import Editor  # noqa: E402
from designer.gui.headless import virtual_display  # noqa: E402

SELECTED = "up1"  # shown in the inspector: an Up block with its skip input


def render(
    design: Path, out: Path, size: tuple[int, int] = (1600, 1000), selected: str = SELECTED
) -> Path:
    """Open ``design``, select one node, wait for the device probe, save the frame buffer."""
    import dearpygui.dearpygui as dpg

    from designer.gui.app import App

    editor = Editor()
    editor.open(design)
    app = App(editor, size=size, recovery=Path(ROOT / "out" / "screenshot-recovery"))
    for _ in range(5):
        app.frame()
    if selected in editor.design:
        app.select([selected])
    if shutil.which("xdotool"):  # park the pointer on the status bar: no hover highlight
        subprocess.run(["xdotool", "mousemove", str(size[0] - 1), str(size[1] - 1)], check=False)
    deadline = time.monotonic() + 60
    while app.device.startswith("checking") and time.monotonic() < deadline:
        app.frame()
    for _ in range(5):
        app.frame()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    dpg.output_frame_buffer(file=str(out))
    for _ in range(3):
        app.frame()
    app.close()
    return out


def main() -> int:
    design = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "unet.json"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "unet_editor.png"
    with virtual_display("1600x1000x24"):
        render(design, out, selected=sys.argv[3] if len(sys.argv) > 3 else SELECTED)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
