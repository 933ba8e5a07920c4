"""Recurrent blocks (designer/blocks/recurrent.py) against torch: LSTM, GRU, RNN; and end to end
(validation, live model, generated code, ONNX export)."""

from __future__ import annotations

import pytest
from codegen_helpers import assert_equivalent
from hypothesis import strategies as st

import designer
from designer import DesignBuilder, export_onnx
from designer.core.cost import node_cost
from designer.core.params import ParamError
from designer.core.shapes import ShapeError
from designer.interop.export import ExportError

from .torch_check import (
    ACCEPT,
    BATCH,
    DELIBERATE,
    REJECT,
    Case,
    assert_family_covered,
    check,
    run_family,
)

SIZE = st.integers(1, 4)


@st.composite
def params_of(draw, block: str) -> dict:
    """Every switch drawn; dropout with one layer and proj_size >= hidden_size now and then."""
    optional = {
        "num_layers": st.integers(1, 3),
        "bias": st.booleans(),
        "batch_first": st.booleans(),
        "dropout": st.sampled_from([0.0, 0.0, 0.3, 1.0]),
        "bidirectional": st.booleans(),
    }
    if block == "LSTM":
        optional["proj_size"] = st.sampled_from([0, 0, 1, 2, 3, 5])
    if block == "RNN":
        optional["nonlinearity"] = st.sampled_from(["tanh", "relu", "relu", "gelu"])
    hidden = {"hidden_size": st.integers(1, 5)}
    return draw(st.fixed_dictionaries(hidden, optional=optional))


def _sequence(draw, batch_first: bool) -> tuple:
    """The input: N×T×F or T×N×F as batch_first says (mostly), T sometimes symbolic; the batch
    on the other axis, or another rank, now and then."""
    rank = draw(st.sampled_from([3] * 8 + [1, 2, 4]))
    if rank != 3:
        return (None, *draw(st.tuples(*[SIZE] * (rank - 1))))
    time = draw(st.one_of(SIZE, st.just(None)))
    layout = batch_first if draw(st.integers(0, 5)) else not batch_first
    features = draw(SIZE)
    return (None, time, features) if layout else (time, None, features)


def _state(draw, shape: tuple, layers: int, width: int) -> tuple | None:
    """An initial state: unwired, right (mostly), or one dimension or the rank wrong."""
    kind = draw(st.sampled_from(["none", "none", "right", "right", "right", "wrong", "2-D"]))
    if kind == "none" or len(shape) != 3:
        return None
    right = (layers, None, width)  # the batch at dimension 1
    if kind == "right":
        return right
    if kind == "2-D":
        return (None, width)
    axis = draw(st.integers(0, 2))
    return tuple(d if i != axis else (d or 1) + 1 for i, d in enumerate(right))


@st.composite
def recurrent_case(draw, block: str) -> Case:
    params = draw(params_of(block))
    shape = _sequence(draw, params.get("batch_first", True))
    layers = params.get("num_layers", 1) * (2 if params.get("bidirectional") else 1)
    hidden = params["hidden_size"]
    widths = [params.get("proj_size") or hidden, hidden][: 2 if block == "LSTM" else 1]
    shapes = (shape, *(_state(draw, shape, layers, w) for w in widths))
    while shapes[-1] is None:  # unwired trailing states may be left out
        shapes = shapes[:-1]
    kinds = ["float32"] * 6 + ["int64", "bool"]
    dtypes = tuple(draw(st.sampled_from(kinds)) for _ in shapes)
    return Case(block, params, shapes, draw(BATCH), _typed(shapes, dtypes))


def _typed(shapes: tuple, dtypes: tuple) -> tuple:
    """No dtypes when all are float32, so that torch_check also runs its checks of plain float
    cases (the shape rule, a renamed batch); they cannot take an unwired state among the shapes."""
    plain = None not in shapes and set(dtypes) == {"float32"}
    return () if plain else dtypes


CASES = {name: recurrent_case(name) for name in ("LSTM", "GRU", "RNN")}


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """Refusals torch does not make, on purpose:

    * dropout between layers with a single layer (torch warns, and ignores it);
    * a 2-D input, which torch reads as one unbatched sequence: designs carry the batch;
    * the batch where the block reads the time steps (batch_first does not match the layout):
      torch runs it, mixing the samples of a batch;
    * an initial state of another dtype than the input (torch converts some, such as an integer
      c0 next to a float h0).
    """
    shape = case.shapes[0]
    if exc.code == "dtype" and exc.port:
        return case.dtype(exc.port) != case.dtype(0)
    if exc.code == "param":
        return "dropout" in exc.message and case.params.get("num_layers", 1) == 1
    if exc.code == "rank" and exc.port == 0:
        return len(shape) == 2
    if exc.code == "mismatch" and exc.port == 0:
        return shape[1 if case.params.get("batch_first", True) else 0] is None
    return False


def test_recurrent_rules_match_torch() -> None:
    tally = run_family(CASES, examples=500, deliberate=deliberate)
    assert_family_covered("recurrent", CASES, tally)


F32 = ("float32",) * 3  # a case with an unwired state among its shapes needs explicit dtypes
LSTM2 = {"hidden_size": 3, "num_layers": 2, "bidirectional": True}
REGRESSIONS = [
    (Case("LSTM", LSTM2, ((None, 5, 4), (4, None, 3), (4, None, 3))), ACCEPT),
    (Case("LSTM", {"hidden_size": 3, "proj_size": 2}, ((None, 5, 4), (1, None, 2))), ACCEPT),
    (Case("LSTM", {"hidden_size": 3, "proj_size": 2}, ((None, 5, 4), (1, None, 3))), REJECT),
    (Case("LSTM", {"hidden_size": 3}, ((None, 5, 4), None, (1, None, 3)), dtypes=F32), ACCEPT),
    (Case("LSTM", {"hidden_size": 3, "proj_size": 3}, ((None, 5, 4),)), REJECT),
    (Case("LSTM", {"hidden_size": 3, "dropout": 0.2}, ((None, 5, 4),)), DELIBERATE),
    (Case("GRU", {"hidden_size": 3}, ((None, 4),)), DELIBERATE),  # torch: one unbatched sequence
    (Case("GRU", {"hidden_size": 3, "batch_first": False}, ((None, 5, 4),)), DELIBERATE),
    (Case("GRU", {"hidden_size": 3, "batch_first": False}, ((5, None, 4), (1, None, 3))), ACCEPT),
    (Case("GRU", {"hidden_size": 3}, ((None, 5, None),)), REJECT),  # input_size must be known
    (Case("GRU", {"hidden_size": 3}, ((None, 5, 4), (1, 10, 3))), REJECT),  # a fixed batch
    (Case("RNN", {"hidden_size": 3}, ((None, 5, 4),), dtypes=("int64",)), REJECT),
    (
        Case("RNN", {"hidden_size": 3}, ((None, 5, 4), (1, None, 3)), dtypes=("float32", "int64")),
        REJECT,
    ),
    (Case("RNN", {"hidden_size": 3, "nonlinearity": "relu"}, ((None, None, 4),)), ACCEPT),
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_recurrent_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome


# -- end to end ----------------------------------------------------------------------------------


def sequence_design(block: str, shape=(12, 16), state: list | None = None, **params):
    """Input -> block -> an Output per output port; ``state`` adds an Input wired to h0."""
    b = DesignBuilder(f"{block.lower()}_net")
    inputs = [b.input(shape)]
    if state is not None:
        b.design.add_node("Input", {"shape": state}, node_id="h0")
        inputs.append(b.port("h0", "out"))
    b.add(block, *inputs, node_id="rnn", **params)
    for port in designer.blocks.REGISTRY.get(block).outputs:
        b.output(b.port("rnn", port), node_id=f"y_{port}")
    return b.build()


def test_lstm_classifier_validates_with_the_batch_of_h_at_dimension_1() -> None:
    design = sequence_design("LSTM", hidden_size=8, num_layers=2, bidirectional=True)
    report = designer.validate(design)
    assert report.ok
    out, h, c = (s.dims for s in report.nodes["rnn"].out_specs)
    assert out == ("N", 12, 16) and h == c == (4, "N", 8)
    assert report.nodes["rnn"].params == 2 * (4 * 8 * (16 + 8) + 64) + 2 * (4 * 8 * (16 + 8) + 64)
    # MACs per sample: T steps x directions x layers x gates·H·(I + H)
    assert node_cost(design, report, "rnn").macs == 12 * 2 * (32 * (16 + 8) + 32 * (16 + 8))


@pytest.mark.parametrize(
    ("block", "shape", "state", "params"),
    [
        ("LSTM", (12, 16), None, {"hidden_size": 8, "num_layers": 2, "bidirectional": True}),
        ("LSTM", ("T", 6), [1, "N", 2], {"hidden_size": 4, "proj_size": 2}),
        (
            "GRU",
            (12, "N", 16),
            [2, "N", 8],
            {"hidden_size": 8, "num_layers": 2, "batch_first": False},
        ),
        ("RNN", (7, 5), None, {"hidden_size": 6, "nonlinearity": "relu", "bias": False}),
    ],
)
def test_generated_code_equals_the_live_model(block, shape, state, params) -> None:
    design = sequence_design(block, shape, state, **params)
    assert designer.validate(design).ok
    source = assert_equivalent(design)
    assert f"class {block}(nn.{block}):" in source


@pytest.mark.parametrize(
    ("block", "shape", "state", "params"),
    [
        ("LSTM", (12, 16), [4, "N", 8], {"hidden_size": 8, "num_layers": 2, "bidirectional": True}),
        ("GRU", (12, "N", 16), None, {"hidden_size": 8, "batch_first": False}),
        ("RNN", (6, 5), [1, "N", 4], {"hidden_size": 4, "nonlinearity": "relu"}),
    ],
)
def test_onnx_export_is_verified(tmp_path, block, shape, state, params) -> None:
    design = sequence_design(block, shape, state, **params)
    result = export_onnx(design, tmp_path / "rnn.onnx")
    assert result.checked and all(p.ok for p in result.parity)


def test_onnx_export_refuses_a_projection(tmp_path) -> None:
    design = sequence_design("LSTM", hidden_size=8, proj_size=4)
    with pytest.raises(ExportError, match="proj_size"):
        export_onnx(design, tmp_path / "rnn.onnx", verify=False)
    assert not (tmp_path / "rnn.onnx").exists()


def _issue(design):
    report = designer.validate(design)
    assert not report.ok
    return next(i for i in report.issues if i.node == "rnn")


def test_token_ids_need_an_embedding_first() -> None:
    b = DesignBuilder("ids")
    b.design.add_node("Input", {"shape": [12], "dtype": "int64"}, node_id="x")
    b.output(b.add("LSTM", b.port("x", "out"), node_id="rnn", hidden_size=4))
    issue = _issue(b.build())
    assert issue.code == "dtype" and "Embedding" in issue.hint


@pytest.mark.parametrize(
    ("shape", "params", "code", "words"),
    [
        ((16,), {}, "rank", "[T, F]"),  # unbatched
        ((12, 16), {"batch_first": False}, "mismatch", "batch_first"),
        ((12, 16), {"proj_size": 8}, "param", "proj_size"),
        ((12, 16), {"dropout": 0.5}, "param", "num_layers"),
    ],
)
def test_refusals_name_the_fix(shape, params, code, words) -> None:
    issue = _issue(sequence_design("LSTM", shape, hidden_size=8, **params))
    assert issue.code == code and words in issue.hint


def test_a_state_of_the_wrong_shape_is_refused_on_its_port() -> None:
    issue = _issue(sequence_design("GRU", (12, 16), [2, "N", 8], hidden_size=8))
    assert issue.code == "mismatch" and issue.port == "h0" and "[1, N, 8]" in issue.hint
