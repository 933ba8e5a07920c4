"""Every registered block type is checked against torch by a test of its family, so a block added
without a property test (or a composite without a reference) fails here."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path

from designer.blocks import REGISTRY, BlockSpec

from .torch_check import family_of

HERE = Path(__file__).resolve().parent
BLOCKS = HERE.parents[1] / "designer" / "blocks"


def covered_by(family: str) -> set[str]:
    """Blocks the family's test file checks: its property strategies, or its reference tests."""
    try:
        module = importlib.import_module(f"{__package__}.test_{family}")
    except ModuleNotFoundError:
        return set()
    return set(getattr(module, "CASES", None) or getattr(module, "REFERENCES", {}))


def uncovered(specs: Iterable[BlockSpec]) -> list[str]:
    """``block (family)`` for each spec no family test covers."""
    return [f"{s.name} ({family_of(s)})" for s in specs if s.name not in covered_by(family_of(s))]


def test_every_family_file_has_a_test_file() -> None:
    families = {p.stem for p in BLOCKS.glob("*.py")} - {"__init__", "registry"}
    assert families, "no block family found"
    assert {f for f in families if not (HERE / f"test_{f}.py").exists()} == set()


def test_every_registered_block_is_covered() -> None:
    assert len(REGISTRY) > 0
    assert uncovered(REGISTRY) == []


def _rule_declared_in(module: str):
    """A shape rule that looks as if a family file ``module`` declared it."""
    namespace = {"__name__": module}
    exec("def rule(p, shapes):\n    return shapes[0]\n", namespace)
    return namespace["rule"]


def test_a_block_without_a_property_test_is_reported() -> None:
    """A block added to a family without a strategy for it is caught, and so is a new family."""
    in_conv = BlockSpec("Conv4d", "Convolution", "", _rule_declared_in("designer.blocks.conv"))
    new = BlockSpec("Attention", "Dense", "", _rule_declared_in("designer.blocks.attention"))
    assert uncovered([in_conv, new]) == ["Conv4d (conv)", "Attention (attention)"]
