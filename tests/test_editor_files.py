"""Nothing the editor can produce fails to load: after random command sequences (blocks, scopes,
grouping, paste, undo and redo included) the design saves, loads, saves again byte for byte and
validates to the same report, in the editor and after the reload.

``DESIGNER_EDITOR_SEQUENCES`` sets how many sequences of 40 commands to try (default 30), and
``DESIGNER_EDITOR_CHECK_EVERY`` after how many commands to check (default 1: after each).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from test_editor import random_command, small
from test_editor_blocks import local

from designer.core.fileformat import dumps, loads
from designer.core.validate import Report, validate
from designer.edit.editor import Editor, EditRefused

SEQUENCES = int(os.environ.get("DESIGNER_EDITOR_SEQUENCES", 30))
LENGTH = 40
CHECK_EVERY = int(os.environ.get("DESIGNER_EDITOR_CHECK_EVERY", 1))  # and after the last one
UNET = Path(__file__).resolve().parent.parent / "examples" / "unet.json"


def with_local_block() -> Editor:
    """A design with a block of its own that has expressions, a condition and two outputs."""
    return local()


def start(kind: int) -> Editor:
    if kind == 0:
        return small()
    if kind == 1:
        return with_local_block()
    editor = Editor()
    editor.open(UNET)
    return editor


def summary(report: Report) -> tuple:
    """What must survive a reload: validity, issues, and every node's shapes and count."""
    issues = sorted(((i.node, i.port, i.code) for i in report.issues), key=repr)
    nodes = {n: (i.in_shapes, i.out_shapes, i.params) for n, i in report.nodes.items()}
    return report.ok, issues, nodes, report.total_params


def check_reload(editor: Editor) -> None:
    text = dumps(editor.root)
    again = loads(text)
    assert dumps(again) == text
    expected = summary(validate(again))
    assert summary(validate(editor.root)) == expected
    fresh = Editor(again)
    if editor.scope:
        fresh._show_scope(editor.scope)  # the same instances, opened the same way
    assert summary(editor.report) == summary(fresh.report)


def run(editor: Editor, seeds: list[int]) -> None:
    for i, seed in enumerate(seeds):
        version, steps = editor.version, len(editor.history.undo_stack)
        try:
            random_command(editor, random.Random(seed), blocks=True)
            note(f"{i}: seed {seed}: {editor.history.top() and editor.history.top().label}")
        except EditRefused as exc:
            note(f"{i}: seed {seed}: refused: {exc}")
            assert (editor.version, len(editor.history.undo_stack)) == (version, steps)
        if i % CHECK_EVERY == CHECK_EVERY - 1 or i == len(seeds) - 1:
            check_reload(editor)


@settings(
    max_examples=SEQUENCES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    kind=st.integers(0, 2),
    seeds=st.lists(st.integers(0, 2**32 - 1), min_size=LENGTH, max_size=LENGTH),
)
def test_whatever_the_editor_makes_loads_back_the_same(kind, seeds):
    run(start(kind), seeds)
