"""Presets (designer/blocks/presets.py): each is a valid setting of its block that does what its
name says, and the search finds them the way a user types."""

from __future__ import annotations

import pytest

from designer import DesignBuilder, validate
from designer.blocks import REGISTRY
from designer.blocks.presets import PRESETS, Preset, find_presets

# Output of each preset for a 4×16×16 input (4×16 for 1-D ones), batch excluded.
EXPECTED = {
    "Conv 3x3 same": (64, 16, 16),
    "Conv 3x3 same, no bias": (64, 16, 16),
    "Conv 1x1": (64, 16, 16),
    "Downsample conv 3x3/2": (64, 8, 8),
    "Stem conv 7x7/2": (64, 8, 8),
    "Patch conv 16x16/16": (64, 1, 1),
    "Conv1d 3 same": (64, 16),
    "Upsample conv 2x2/2": (64, 32, 32),
    "MaxPool 2x2": (4, 8, 8),
    "MaxPool 3x3/2": (4, 8, 8),
    "AvgPool 2x2": (4, 8, 8),
    "Global average pool": (4, 1, 1),
    "Upsample x2 nearest": (4, 32, 32),
    "Upsample x2 bilinear": (4, 32, 32),
}


def test_every_preset_is_listed_once_with_its_expected_shape():
    names = [p.name for p in PRESETS]
    assert len(set(names)) == len(names)
    assert set(names) == set(EXPECTED)


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_a_preset_sets_valid_parameters(preset: Preset):
    """Explicit ones: a node added from a preset states them even where they are defaults."""
    _, errors = REGISTRY.get(preset.block).resolve(preset.params)
    assert preset.params and not errors, errors
    assert preset.doc.endswith(".")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_a_preset_does_what_its_name_says(preset: Preset):
    b = DesignBuilder("preset")
    x = b.input((4, 16) if preset.block.endswith("1d") else (4, 16, 16))
    b.output(b.add(preset.block, x, node_id="node", **preset.params))
    report = validate(b.build())
    assert report.ok and not report.issues, [str(i) for i in report.issues]
    assert report.nodes["node"].shape[1:] == EXPECTED[preset.name]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("conv 3x3", "Conv 3x3 same"),
        ("Conv3x3 same", "Conv 3x3 same"),
        ("3x3/2", "Downsample conv 3x3/2"),
        ("maxpool", "MaxPool 2x2"),
        ("global", "Global average pool"),
        ("bilinear", "Upsample x2 bilinear"),
        ("transpose", "Upsample conv 2x2/2"),  # by its block type
        ("halves", "Downsample conv 3x3/2"),  # by a word of its doc
    ],
)
def test_the_search_finds_presets_as_typed(query: str, first: str):
    assert find_presets(query)[0].name == first


def test_an_empty_search_lists_every_preset_and_nonsense_none():
    assert find_presets("  ") == list(PRESETS)
    assert find_presets("zzzz") == []
    assert {p.block for p in find_presets("conv2d")} == {"Conv2d"}
