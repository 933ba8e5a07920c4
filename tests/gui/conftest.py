"""End-to-end GUI tests: a private Xvfb, the real editor window, driven with xdotool.

The window runs in this process; :class:`Driver` renders frames between input events (the node
editor only sees what happens between frames) and reads item positions from DearPyGui to know
where to click. Screenshots go to ``artifacts/`` at the repository root.

One window serves the whole session and each test starts from an empty design: DearPyGui 2.3
crashes (GLFW cursor-enter callback into a freed backend) when a second context is created in the
same process, so the window is made once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from designer.edit.editor import Editor

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
REASON = "the GUI tests need Xvfb and xdotool (apt-get install xvfb xdotool)"


def _tools() -> bool:
    return bool(shutil.which("Xvfb") and shutil.which("xdotool"))


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """One Xvfb for the session, on a display number it picks itself."""
    if not _tools():
        if os.environ.get("CI"):
            pytest.fail(REASON + "; CI must run these tests")
        pytest.skip(REASON)
    from designer.gui.headless import virtual_display

    with virtual_display("1920x1200x24") as name:
        yield name


class Driver:
    """The editor window plus mouse and keyboard through xdotool."""

    def __init__(self, recovery: Path) -> None:
        from designer.gui.app import App

        self.editor = Editor()
        self.app = App(self.editor, size=(1600, 1000), recovery=recovery, check_device=False)
        self.frames(5)

    def reset(self) -> None:
        """An empty design, no dialogs, no selection, the pointer parked on empty canvas."""
        app = self.app
        windows = (app.quick_add.window, app.context_menu.window, app.question.window)
        dialogs = (app.export_dialog.window, app.group_dialog.window, app.split_dialog.window)
        dialogs += (app.import_dialog.window, app.import_dialog.files)
        for window in (*windows, *dialogs):
            dpg_hide(window)
        for window in (app.find.window, app.help.window):
            dpg_hide(window)
        for dialog in (app.files.open_dialog, app.files.save_dialog):
            dpg_hide(dialog)
        self.move((1200, 900))
        self.editor.new()
        self.frames(3)
        app.canvas.select([])
        app.inspector.show([])
        import dearpygui.dearpygui as dpg

        dpg.set_value(app.palette.search, "")  # a search typed by an earlier test
        app.palette.filter("")
        app.say("Ready.")
        dpg_select_tab(app, app.inspect_tab)
        self.frames(2)

    # -- frames and input ---------------------------------------------------------------------
    def frames(self, n: int = 3) -> None:
        for _ in range(n):
            self.app.frame()

    def xdo(self, *args: object) -> None:
        subprocess.run(["xdotool", *map(str, args)], check=True)

    def move(self, point: tuple[float, float]) -> None:
        self.xdo("mousemove", round(point[0]), round(point[1]))
        self.frames(2)

    def click(self, point: tuple[float, float], button: int = 1) -> None:
        self.move(point)
        self.xdo("mousedown", button)
        self.frames(2)
        self.xdo("mouseup", button)
        self.frames(3)

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 12) -> None:
        """Press, move in steps with a frame after each, release: how the node editor sees it."""
        self.move(start)
        self.xdo("mousedown", 1)
        self.frames(2)
        for i in range(1, steps + 1):
            t = i / steps
            self.xdo(
                "mousemove",
                round(start[0] + (end[0] - start[0]) * t),
                round(start[1] + (end[1] - start[1]) * t),
            )
            self.frames(1)
        self.xdo("mouseup", 1)
        self.frames(3)

    def key(self, *combos: str) -> None:
        for combo in combos:
            self.xdo("key", combo)
            self.frames(3)

    def type(self, text: str) -> None:
        """One key at a time with frames between (ImGui takes in about one key event a frame)."""
        for char in text:
            self.xdo("type", char)
            self.frames(2)
        self.frames(2)

    # -- where things are ---------------------------------------------------------------------
    def centre(self, item: int) -> tuple[float, float]:
        import dearpygui.dearpygui as dpg

        (x, y), (w, h) = dpg.get_item_rect_min(item), dpg.get_item_rect_size(item)
        return (x + w / 2, y + h / 2)

    def pin(self, node_id: str, port: str, output: bool) -> tuple[float, float]:
        """A pin sits on the node's edge, level with its attribute's text."""
        items = self.app.canvas.items[node_id]
        view = self.app.canvas.views[node_id]
        text = items.outputs[view.outputs.index(port)] if output else items.inputs[port]
        (left, _), (right, _) = self.app.canvas.rects()[node_id]
        return (right + 1 if output else left - 1, self.centre(text)[1])

    def wire(self, src: str, src_port: str, dst: str, dst_port: str) -> None:
        self.drag(self.pin(src, src_port, True), self.pin(dst, dst_port, False), steps=16)

    def shape_text(self, node_id: str) -> str:
        import dearpygui.dearpygui as dpg

        return dpg.get_value(self.app.canvas.items[node_id].outputs[0])

    def status(self) -> str:
        import dearpygui.dearpygui as dpg

        return dpg.get_value(self.app.message)

    def screenshot(self, name: str) -> Path:
        """Save the frame buffer as ``artifacts/<name>.png`` (written during the next frame)."""
        import dearpygui.dearpygui as dpg

        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        path.unlink(missing_ok=True)
        dpg.output_frame_buffer(file=str(path))
        self.frames(3)
        assert path.exists(), f"no screenshot at {path}"
        return path

    def until(self, done, seconds: float = 60.0) -> None:
        """Render frames until ``done()`` is true (a worker thread finishing), or fail."""
        import time

        deadline = time.monotonic() + seconds
        while not done():
            assert time.monotonic() < deadline, "timed out waiting in the window"
            self.frames(1)
        self.frames(3)

    def close(self) -> None:
        self.app.close()


def dpg_select_tab(app, tab: int) -> None:
    import dearpygui.dearpygui as dpg

    dpg.set_value(app.tabs, tab)


def dpg_hide(item: int) -> None:
    import dearpygui.dearpygui as dpg

    dpg.configure_item(item, show=False)


@pytest.fixture(scope="session")
def window(display, tmp_path_factory) -> Iterator[Driver]:
    """The session's editor window."""
    driver = Driver(tmp_path_factory.mktemp("recovery"))
    yield driver
    driver.close()


@pytest.fixture
def gui(window) -> Driver:
    """The window, reset to an empty design for this test."""
    window.reset()
    return window
