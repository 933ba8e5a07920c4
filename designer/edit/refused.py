"""The one error an editor command raises: what it could not do, and what to do instead."""

from __future__ import annotations

from designer.core.graph import DesignError


class EditRefused(DesignError):
    """A command that cannot be done as asked; ``message`` says why, ``hint`` what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.message, self.hint = message, hint
