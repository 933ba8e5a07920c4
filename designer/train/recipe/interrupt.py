"""Ctrl+C as a request to stop after the current step, in the run and its data workers."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


@contextmanager
def sigint_stops():
    """Within: the first Ctrl+C asks the run to stop after its current step (a second one
    interrupts at once). Yields the ``should_stop`` function."""
    asked = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield asked.is_set
        return

    def handler(signum, frame):
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield asked.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


def ignore_sigint(worker: int) -> None:
    """Data workers leave Ctrl+C to the main process, which stops after its step."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
