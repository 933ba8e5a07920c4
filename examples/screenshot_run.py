"""Screenshots of the run panel with a preview and of a grouped block opened for editing.

Run: ``python examples/screenshot_run.py`` (or ``scripts/screenshot --run``). Needs Xvfb. Writes
docs/run_panel.png (examples/unet.json run on the CPU, one node's activation previewed) and
docs/block_editing.png (two nodes grouped into a block, then opened: the breadcrumb leads back).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from designer import DesignBuilder  # noqa: E402
from designer.edit.editor import Editor  # noqa: E402
from designer.gui.headless import virtual_display  # noqa: E402

SIZE = (1600, 1000)
PREVIEWED = "inc"  # the U-Net's first DoubleConv: edges and blobs in its feature maps


def frames(app, n: int = 5) -> None:
    for _ in range(n):
        app.frame()


def snapshot(app, out: Path) -> None:
    import dearpygui.dearpygui as dpg

    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    dpg.output_frame_buffer(file=str(out))
    frames(app, 3)
    print(f"wrote {out}")


def run_panel(app, out: Path) -> None:
    """Open the U-Net, run it on the CPU, preview one channel of ``inc`` with a colour map."""
    import dearpygui.dearpygui as dpg

    app.editor.open(ROOT / "examples" / "unet.json")
    frames(app)
    dpg.set_value(app.tabs, app.run_tab)
    dpg.set_value(app.run_panel.device, "cpu")
    app.run_panel.run()
    deadline = time.monotonic() + 300
    while app.run_panel.shown_state != "done" and time.monotonic() < deadline:
        app.frame()
        if app.run_panel.worker.state == "failed":
            raise SystemExit(f"run failed: {app.run_panel.worker.message}")
    app.select([PREVIEWED])
    frames(app)
    dpg.set_value(app.run_panel.channel, 5)
    app.run_panel.redraw()
    frames(app)
    snapshot(app, out)


def block_editing(app, out: Path) -> None:
    """Group conv, bn and relu into ConvBnRelu, reuse it, then open the first instance."""
    import dearpygui.dearpygui as dpg

    b = DesignBuilder("two_stages")
    h = b.input((3, 64, 64))
    for stage, width in ((1, 16), (2, 32)):
        h = b.add("Conv2d", h, node_id=f"conv{stage}", out_channels=width, padding=1)
        h = b.add("BatchNorm2d", h, node_id=f"bn{stage}")
        h = b.add("ReLU", h, node_id=f"relu{stage}")
        h = b.add("MaxPool2d", h, node_id=f"pool{stage}")
    b.output(h)
    editor: Editor = app.editor
    editor._reset(b.build(), None)
    editor.auto_layout()
    first = editor.group(["conv1", "bn1", "relu1"], "ConvBnRelu", [("conv1", "out_channels")])
    second = editor.add_node("ConvBnRelu", (0, 0), {"out_channels": 32})
    for src, dst, port in (("pool1", second, "x"), (second, "pool2", "in")):
        editor.connect(src, "out" if src == "pool1" else "y", dst, port)
    editor.delete(["conv2", "bn2", "relu2"])
    editor.auto_layout()
    frames(app)
    app.open_block(first)
    frames(app)
    editor.auto_layout()
    editor.move(
        {n: (editor.design.node(n)["pos"][0] * 0.8, 60.0) for n in editor.design.node_ids()}
    )
    dpg.set_value(app.tabs, app.inspect_tab)
    app.select(["conv1"])
    frames(app, 8)
    snapshot(app, out)


def main() -> int:
    from designer.gui.app import App

    docs = ROOT / "docs"
    with virtual_display(f"{SIZE[0]}x{SIZE[1]}x24"):
        app = App(
            Editor(), size=SIZE, recovery=ROOT / "out" / "screenshot-recovery", check_device=False
        )
        if shutil.which("xdotool"):  # the pointer on the status bar: no hover highlight
            subprocess.run(
                ["xdotool", "mousemove", str(SIZE[0] - 1), str(SIZE[1] - 1)], check=False
            )
        frames(app)
        run_panel(app, docs / "run_panel.png")
        block_editing(app, docs / "block_editing.png")
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
