"""A function run on a daemon thread, polled from the UI thread (the Train tab's helpers)."""

from __future__ import annotations

import threading
from typing import Any


class Worker:
    """One function on a daemon thread; ``result`` or ``error`` once it has finished."""

    def __init__(self, fn, *args: Any) -> None:
        self.result: Any = None
        self.error: str | None = None
        self.fresh = False  # a probe at fresh weights (it draws random numbers)
        self._thread = threading.Thread(target=self._work, args=(fn, *args), daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._thread.is_alive()

    def _work(self, fn, *args: Any) -> None:
        try:
            self.result = fn(*args)
        except Exception as exc:  # shown in the panel, never fatal
            self.error = f"{type(exc).__name__}: {exc}" if not has_plain_message(exc) else str(exc)


def has_plain_message(exc: Exception) -> bool:
    """Errors whose message is written for the user (no type name needed)."""
    from designer.live.weights import WeightsError
    from designer.train.recipe.data import DataError

    return isinstance(exc, (DataError, WeightsError, ValueError))
