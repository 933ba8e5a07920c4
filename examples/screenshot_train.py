"""Screenshot of the Train tab: examples/unet_small.json trained a few epochs on the shapes set.

Run: ``python examples/screenshot_train.py [--epochs 10] [--n 160]``. Needs Xvfb; takes a few
minutes on a 2-core CPU. Writes docs/train_tab.png: the loss and mIoU curves, a validation image
with its true and predicted masks, and each node's gradient norm and activation statistics on the
canvas. The shapes set and the run go to out/screenshot-train/.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from designer.edit.editor import Editor  # noqa: E402
from designer.gui.headless import virtual_display  # noqa: E402

SIZE = (1600, 1000)
WORK = ROOT / "out" / "screenshot-train"


def frames(app, n: int = 5) -> None:
    for _ in range(n):
        app.frame()


def wait(app, done, seconds: float, what: str) -> None:
    """Render a few frames a second (the CPU goes to training) until ``done()``."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        app.frame()
        time.sleep(0.1)
    frames(app)


def train(app, epochs: int, n: int) -> None:
    """Make the shapes set, then train the small U-Net with the stats overlay on."""
    import dearpygui.dearpygui as dpg

    panel = app.train_panel
    editor = app.editor
    editor.open(ROOT / "examples" / "unet_small.json")
    spread = {n: (x, max(0.0, y * 1.15 - 15)) for n, (x, y) in _positions(editor).items()}
    editor.move(spread)  # room for the two lines of statistics under each node
    frames(app)
    dpg.set_value(app.tabs, app.train_tab)
    dpg.set_value(panel.shapes_n, n)
    dpg.set_value(panel.shapes_size, 64)
    panel.make_shapes(WORK / "shapes")
    wait(app, lambda: panel.shapes is None, 120, "the shapes set")
    shutil.rmtree(WORK / "run", ignore_errors=True)
    dpg.set_value(panel.out, str(WORK / "run"))
    for name, value in (("epochs", epochs), ("batch", 8), ("device", "cpu")):
        dpg.set_value(panel.fields[name], value)
    dpg.set_value(panel.show_stats, True)
    panel.set_overlay(True)
    panel.start()  # waits for the first statistics (fresh weights) if they are not done yet
    wait(app, lambda: panel.job and panel.job.state in ("done", "failed"), 3600, "training")
    if panel.job.state == "failed":
        raise SystemExit(f"training failed: {panel.job.error}")
    wait(app, lambda: panel.probing is None and panel.overlay.items, 300, "node statistics")


def _positions(editor) -> dict:
    return {n: tuple(editor.design.node(n)["pos"]) for n in editor.design.node_ids()}


def main() -> int:
    from designer.gui.app import App

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n", type=int, default=160, help="shapes images (64x64)")
    args = parser.parse_args()
    out = ROOT / "docs" / "train_tab.png"
    with virtual_display(f"{SIZE[0]}x{SIZE[1]}x24"), tempfile.TemporaryDirectory() as recovery:
        app = App(Editor(), size=SIZE, recovery=Path(recovery), check_device=False)
        if shutil.which("xdotool"):  # the pointer on the status bar: no hover highlight
            subprocess.run(
                ["xdotool", "mousemove", str(SIZE[0] - 1), str(SIZE[1] - 1)], check=False
            )
        frames(app)
        train(app, args.epochs, args.n)
        out.unlink(missing_ok=True)
        import dearpygui.dearpygui as dpg

        dpg.output_frame_buffer(file=str(out))
        frames(app, 3)
        print(f"wrote {out}")
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
