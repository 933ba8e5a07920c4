"""Hostile design files: every load ends in our own clear error or a valid design, never anything
else, never a hang. CI runs a bounded number; ``DESIGNER_FILES=10000`` runs the long mode."""

from __future__ import annotations

import json
import os
import time

import pytest
from common import EXAMPLES, ROOT
from mutate import mutated_files
from nested_blocks import nested_file

import designer
from designer.core.fileformat import DesignFileError, loads

COUNT = int(os.environ.get("DESIGNER_FILES", "400"))


def seed_text(name: str) -> str:
    """An example file; ``unet+blocks`` carries the library's composite blocks inline, ``nested``
    three levels of blocks, each using one whose name sorts after its own."""
    if name == "nested":
        return nested_file(["Aaa", "Mmm", "Zzz"], [True, False, True], 4)
    if name != "unet+blocks":
        return (EXAMPLES / name).read_text()
    data = json.loads((EXAMPLES / "unet.json").read_text())
    data["blocks"] = json.loads((ROOT / "designer/blocks/library/unet.json").read_text())["blocks"]
    return json.dumps(data, indent=1)


@pytest.mark.parametrize(
    "name", ["unet.json", "resnet.json", "two_branch.json", "unet+blocks", "nested"]
)
def test_mutated_files_fail_cleanly(name):
    text = seed_text(name)
    outcomes = {"error": 0, "valid": 0, "invalid": 0}
    stream = mutated_files(text, seed=sum(map(ord, name)))
    for _ in range(COUNT):
        label, mutated = next(stream)
        start = time.perf_counter()
        try:
            design = loads(mutated, label)
        except DesignFileError as exc:
            assert str(exc).startswith(label), str(exc)
            outcomes["error"] += 1
        else:
            report = designer.validate(design)
            outcomes["valid" if report.ok else "invalid"] += 1
            for issue in report.issues:
                assert issue.message and isinstance(issue.code, str)
        assert time.perf_counter() - start < 2.0, f"{label} took too long"
    assert sum(outcomes.values()) == COUNT
    assert outcomes["error"] and outcomes["invalid"]  # the mutator reaches both kinds


def test_huge_sizes_are_refused_before_any_allocation():
    b = designer.DesignBuilder()
    x = b.input((10**6,))
    b.output(b.add("Linear", x, node_id="fc", out_features=10**12))
    (issue,) = designer.validate(b.design).errors
    assert (issue.node, issue.param) == ("fc", "out_features")
    assert "out of range" in issue.message
