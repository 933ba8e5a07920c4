"""What ends a command early: usage errors and interruptions (standard library only, so that the
command can catch them from its first instant)."""

from __future__ import annotations


class UsageError(Exception):
    """A command line that cannot run: one line and exit status 2, before any work."""

    def __init__(self, message: str, prog: str | None = None) -> None:
        super().__init__(message)
        self.prog = prog


def interruption(exc: BaseException) -> BaseException | None:
    """The Ctrl+C or SIGTERM behind ``exc``, when a library turned it into another error."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if not isinstance(exc, Exception):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
