"""When the window draws a frame: right after input, when a worker reports, otherwise rarely.

An editor nobody touches should cost nothing. :class:`Pacer` lets the render loop block in
DearPyGui's ``wait_for_input`` mode (GLFW waits for the next window event) once input has been
quiet for :data:`SETTLE` seconds, and a small thread ends the wait by posting an empty GLFW event:
every :data:`BUSY_PERIOD` while a worker (a run, training, an export, code generation) is going,
at a deadline (a status message that expires, the next autosave), and at least every
:data:`IDLE_PERIOD`.
Where GLFW's ``glfwPostEmptyEvent`` cannot be found the loop never blocks and sleeps between idle
frames instead.
"""

from __future__ import annotations

import ctypes
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

SETTLE = 0.5  # seconds of continuous frames after the last input (hover, drags, tooltips)
BUSY_PERIOD = 0.1  # seconds between frames while a worker reports progress
IDLE_PERIOD = 30.0  # seconds between frames while nothing happens at all (a safety net)
FALLBACK_SLEEP = 0.1  # seconds slept before an idle frame when waiting is not possible


def glfw_waker() -> Callable[[], None] | None:
    """``glfwPostEmptyEvent`` from DearPyGui's own GLFW, or None where it is not exported."""
    try:
        import dearpygui

        folder = Path(dearpygui.__file__).parent
        library = next(iter(sorted(folder.glob("_dearpygui*.so")) + sorted(folder.glob("*.pyd"))))
        post = ctypes.CDLL(str(library)).glfwPostEmptyEvent
    except (ImportError, OSError, AttributeError, StopIteration):
        return None
    post.restype = None
    return post


class Pacer:
    """Decides, frame by frame, whether the next frame may wait for input; wakes it up later."""

    def __init__(
        self, wake: Callable[[], None] | None, clock: Callable[[], float] = time.monotonic
    ):
        self.wake = wake
        self.clock = clock
        self.last_input = -math.inf
        self.deadline = math.inf  # when the thread posts the next wake-up
        self.frames_waited = 0  # how many frames began by waiting (for tests and the benchmark)
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def touch(self) -> None:
        """Input or a change on screen: draw continuously for a moment."""
        self.last_input = self.clock()

    def may_wait(self, busy: bool, due: float | None = None) -> bool:
        """Whether the next frame may wait; if so, arranges the wake-up that ends the wait.

        ``busy``: a worker is reporting progress; ``due``: a clock time something must be shown.
        """
        now = self.clock()
        if now - self.last_input < SETTLE:
            return False
        wake_at = now + (BUSY_PERIOD if busy else IDLE_PERIOD)
        if due is not None:
            wake_at = max(now, min(wake_at, due))
        if self.wake is None:
            if wake_at > now:
                time.sleep(min(FALLBACK_SLEEP, wake_at - now))
            return False
        self._schedule(wake_at)
        self.frames_waited += 1
        return True

    def _schedule(self, at: float) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="frame-waker", daemon=True)
            self._thread.start()
        with self._cond:
            self.deadline = at
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                left = self.deadline - self.clock()
                if left > 0:
                    self._cond.wait(timeout=None if math.isinf(left) else left)
                    continue
                self.deadline = math.inf
                self.wake()

    def stop(self) -> None:
        """End the wake-up thread (the window is closing)."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
