"""Blocks inside blocks: any nesting, in any name order, survives save -> load -> save byte for
byte and validates to the same report; blocks that contain themselves or nest too deep are refused
on load with a message naming the loop."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nested_blocks import nested_file, wrapper

from designer.core.composite import MAX_NESTING
from designer.core.fileformat import DesignFileError, dumps, loads
from designer.core.validate import validate

NAMES = st.from_regex(r"[A-Z][A-Za-z0-9]{0,6}", fullmatch=True)


@settings(max_examples=int(os.environ.get("DESIGNER_DESIGNS", 40)), deadline=None)
@given(
    names=st.lists(NAMES, min_size=1, max_size=4, unique=True),
    extras=st.lists(st.booleans(), min_size=4, max_size=4),
    width=st.integers(1, 9),
)
def test_nested_blocks_round_trip_in_any_name_order(names, extras, width):
    design = loads(nested_file(names, extras, width))
    report = validate(design)
    assert report.ok, report.issues
    assert report.total_params == 3 * width + width
    text = dumps(design)
    again = loads(text)
    assert dumps(again) == text
    assert validate(again).nodes["y"].shape == report.nodes["y"].shape
    assert validate(again).total_params == report.total_params


def test_three_levels_sorted_against_use_order_round_trip():
    # Aaa uses Mmm uses Zzz: saved sorted by name, each block uses one written after it
    text = nested_file(["Aaa", "Mmm", "Zzz"], [True, False, True], 4)
    saved = dumps(loads(text))
    assert dumps(loads(saved)) == saved
    assert validate(loads(saved)).ok


def test_block_containing_itself_is_refused_with_the_loop():
    data = json.loads(nested_file(["Outer", "Inner"], [False] * 4, 2))
    data["blocks"]["Inner"] = wrapper("Outer", False)
    with pytest.raises(DesignFileError, match=r"contains itself \((Outer|Inner) -> .* -> \1\)"):
        loads(json.dumps(data))


def test_block_using_itself_directly_is_refused():
    data = json.loads(nested_file(["Solo"], [False] * 4, 2))
    data["blocks"]["Solo"] = wrapper("Solo", False)
    with pytest.raises(DesignFileError, match=r"\$\.blocks\.Solo: block Solo contains itself"):
        loads(json.dumps(data))


def test_deep_nesting_is_refused_cleanly():
    names = [f"B{i}" for i in range(160)]
    with pytest.raises(DesignFileError, match=f"more than {MAX_NESTING}; flatten"):
        loads(nested_file(names, [False] * 160, 2))


def test_nesting_at_the_limit_validates():
    names = [f"B{i}" for i in range(MAX_NESTING)]
    design = loads(nested_file(names, [False] * MAX_NESTING, 2))
    assert validate(design).ok
