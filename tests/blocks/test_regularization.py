"""Regularisation (designer/blocks/regularization.py) against torch: Dropout1d/2d/3d on inputs of
every rank, DropPath; each end to end (live model, generated code, ONNX), DropPath's training
behaviour (whole samples zeroed, the rest scaled) and its identity in eval mode."""

from __future__ import annotations

import pytest
import torch
from codegen_helpers import exec_source
from hypothesis import strategies as st

import designer
from designer import DesignBuilder
from designer.blocks import REGISTRY
from designer.core.params import ParamError
from designer.core.shapes import ShapeError
from designer.live.layers.regularization import DropPath

from .end_to_end import end_to_end
from .torch_check import (
    ACCEPT,
    BATCH,
    DELIBERATE,
    REJECT,
    Case,
    any_shape,
    assert_family_covered,
    check,
    run_family,
)

SIZE = st.integers(1, 4)
P = st.floats(0.0, 1.0)


@st.composite
def channel_dropout_case(draw, block: str) -> Case:
    """Dropout{n}d, mostly on its own rank, sometimes on any other."""
    meant = int(block[-2]) + 2
    shape = draw(any_shape([meant] * 4 + [1, 2, 3, 4, 5, 6], SIZE))
    params = draw(st.fixed_dictionaries({}, optional={"p": P}))
    return Case(block, params, (shape,), draw(BATCH))


@st.composite
def drop_path_case(draw) -> Case:
    params = draw(st.fixed_dictionaries({}, optional={"p": P}))
    return Case("DropPath", params, (draw(any_shape(range(1, 7), SIZE)),), draw(BATCH))


CASES = {f"Dropout{n}d": channel_dropout_case(f"Dropout{n}d") for n in (1, 2, 3)} | {
    "DropPath": drop_path_case()
}


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """Dropout{n}d takes only N×C plus n spatial dimensions: torch reads an input of one rank
    fewer as an unbatched sample (it would zero whole samples, not channels) and warns about the
    other ranks it accepts."""
    return case.block.startswith("Dropout") and exc.code == "rank"


def test_regularization_rules_match_torch() -> None:
    tally = run_family(CASES, examples=500, deliberate=deliberate)
    assert_family_covered("regularization", CASES, tally)
    assert tally["Dropout2d", DELIBERATE] > 0


REGRESSIONS = [
    (Case("Dropout1d", {}, ((None, 3, 4),)), ACCEPT),
    (Case("Dropout1d", {}, ((None, 3),)), DELIBERATE),  # torch: one unbatched C×L sample
    (Case("Dropout1d", {}, ((None, 3, 4, 5),)), REJECT),
    (Case("Dropout2d", {"p": 1.0}, ((None, 3, 4, 4),)), ACCEPT),
    (Case("Dropout2d", {}, ((None, 3, 4),)), DELIBERATE),  # torch warns: read as N×C×L
    (Case("Dropout3d", {}, ((None, 3, 2, 2, 2),)), ACCEPT),
    (Case("Dropout3d", {}, ((None, 3, 2, 2),)), DELIBERATE),  # torch: one unbatched sample
    (Case("DropPath", {"p": 1.0}, ((None,),)), ACCEPT),
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_regularization_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome


@pytest.mark.parametrize(
    ("block", "sample"),
    [("Dropout1d", (4, 5)), ("Dropout2d", (3, 4, 4)), ("Dropout3d", (2, 3, 3, 3))],
)
def test_channel_dropout_end_to_end(tmp_path, block, sample) -> None:
    assert set(end_to_end(tmp_path, block, sample, p=0.3).ops) <= {"Identity"}


def test_drop_path_end_to_end(tmp_path) -> None:
    assert set(end_to_end(tmp_path, "DropPath", (4, 5, 5), p=0.5).ops) <= {"Identity"}


def test_palette_category() -> None:
    names = [s.name for s in REGISTRY.categories()["Regularization"]]
    assert {"Dropout1d", "Dropout2d", "Dropout3d", "DropPath"} <= set(names)
    assert REGISTRY.get("Dropout").category == "Utility"  # plain Dropout stays a dense block


def _drop_path_model() -> torch.nn.Module:
    b = DesignBuilder("stochastic")
    b.output(b.add("DropPath", b.input((3, 4)), node_id="drop", p=0.5))
    return b.build()


def test_drop_path_zeroes_whole_samples_while_training() -> None:
    live = designer.build(_drop_path_model(), "cpu")
    x = torch.rand(400, 3, 4) + 1.0
    torch.manual_seed(0)
    y = live.train()(x)
    kept = (y != 0).flatten(1).all(1)
    dropped = (y == 0).flatten(1).all(1)
    assert bool((kept | dropped).all()), "a sample was partly zeroed"
    torch.testing.assert_close(y[kept], x[kept] * 2.0)
    assert 120 < int(dropped.sum()) < 280
    assert torch.equal(live.eval()(x), x)


def test_generated_drop_path_matches_the_live_one_while_training() -> None:
    design = _drop_path_model()
    live = designer.build(design, "cpu").train()
    generated = exec_source(designer.generate_code(design))[live.plan.model.name]().train()
    x = torch.randn(64, 3, 4)
    torch.manual_seed(1)
    expected = live(x)
    torch.manual_seed(1)
    assert torch.equal(generated(x), expected)


@pytest.mark.parametrize(("p", "zeroed"), [(0.0, False), (1.0, True)])
def test_drop_path_extremes(p, zeroed) -> None:
    x = torch.randn(8, 3)
    y = DropPath(p).train()(x)
    assert torch.equal(y, torch.zeros_like(x) if zeroed else x)
    assert torch.equal(DropPath(p).eval()(x), x)
