"""Editing: undoable editor commands, history, grouping, crash recovery."""

import designer.blocks  # noqa: F401  (registers the block types every design here needs)
