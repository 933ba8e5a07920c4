"""The status bar's message: it goes back to "Ready." after a while, but what went wrong stays.

Plain messages last :data:`MESSAGE_SECONDS`; refusals and errors last longer and are also kept
in the log under the issues list (:meth:`designer.gui.issues.IssuesPanel.log`) until cleared, so
that one missed glance loses nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import dearpygui.dearpygui as dpg

from designer.gui.theme import ERROR, WARNING

MESSAGE_SECONDS = 6.0
PROBLEM_SECONDS = 15.0
READY = "Ready."
PLAIN = (230, 230, 230)


class StatusLine:
    """The message on the left of the status bar."""

    def __init__(self, item: int, keep: Callable[[str, tuple], None], clock=time.monotonic) -> None:
        self.item = item
        self.keep = keep
        self.clock = clock
        self.text = READY
        self.expires: float | None = None

    def say(self, text: str, colour: tuple = PLAIN) -> None:
        problem = tuple(colour) in (tuple(ERROR), tuple(WARNING))
        self.text = text
        self.expires = self.clock() + (PROBLEM_SECONDS if problem else MESSAGE_SECONDS)
        dpg.set_value(self.item, text)
        dpg.configure_item(self.item, color=colour)
        if problem:
            self.keep(text, colour)

    def poll(self) -> None:
        """Go back to "Ready." once the message has expired."""
        if self.expires is not None and self.clock() >= self.expires:
            self.expires = None
            self.text = READY
            dpg.set_value(self.item, READY)
            dpg.configure_item(self.item, color=PLAIN)

    def due(self) -> float | None:
        """When the message expires (the window draws a frame then)."""
        return self.expires
