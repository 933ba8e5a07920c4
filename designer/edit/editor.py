"""The editing session: every change a user can make to a design, as an undoable command.

The GUI is a thin view over an :class:`Editor`; tests drive the very same commands headless.
A command either succeeds as one undo step or is refused with an :class:`EditRefused` that says
why and what to do instead, leaving the design untouched. After every change, listeners receive a
:class:`Change` naming the nodes it touched, and :attr:`Editor.report` is the design's validation
report (computed incrementally: only nodes whose type, parameters or input shapes changed are
inferred again).

Nothing an editor makes fails to load: a command is also refused when its result could not be
saved and opened again (a block that would contain itself or nest too deep, an open block left
without an Input or an Output, a position or value no file holds), and a paste adapts what the
shown design cannot hold (expressions reading names it lacks become their values).

The commands live in one module per concern, each a mixin over :class:`EditorCore` (state,
listeners, undo plumbing): :mod:`~designer.edit.node_commands`, :mod:`~designer.edit.clipboard`,
:mod:`~designer.edit.block_commands` (with :mod:`~designer.edit.expansion`),
:mod:`~designer.edit.repeat_commands`, :mod:`~designer.edit.placement_commands` and
:mod:`~designer.edit.file_commands`.
"""

from __future__ import annotations

from designer.edit.clipboard import PASTE_OFFSET, ClipboardCommands
from designer.edit.editor_core import MAX_POS, Change, EditorCore
from designer.edit.expansion import ExpansionCommands
from designer.edit.file_commands import FileCommands
from designer.edit.fragment import Fragment
from designer.edit.node_commands import MAX_INT, NodeCommands, Ports
from designer.edit.placement_commands import PlacementCommands
from designer.edit.refused import EditRefused
from designer.edit.repeat_commands import RepeatCommands
from designer.edit.search import block_types, find_blocks, find_nodes

__all__ = [
    "MAX_INT",
    "MAX_POS",
    "PASTE_OFFSET",
    "Change",
    "EditRefused",
    "Editor",
    "EditorCore",
    "Fragment",
    "Ports",
    "block_types",
    "find_blocks",
    "find_nodes",
]


class Editor(
    PlacementCommands,
    NodeCommands,
    RepeatCommands,
    ClipboardCommands,
    ExpansionCommands,
    FileCommands,
):
    """One open design with its file, undo history, listeners and current validation report."""
