"""Errors shared by the core's file modules (kept apart so that the writer and the reader need not
import each other)."""

from __future__ import annotations


class DesignFileError(Exception):
    """A design file that cannot be read; the message names file, JSON path and the fix."""

    def __init__(self, source: str, path: str, problem: str):
        super().__init__(f"{source}: {path}: {problem}" if path else f"{source}: {problem}")
        self.source, self.path, self.problem = source, path, problem
