"""Embeddings and learnable tensors (designer/blocks/embedding.py) against torch: Embedding on
integer ids of any rank, Parameter of any fixed shape and init, ExpandBatch; then the designs they
serve (a ViT front end, a token model) built live, generated and exported to ONNX."""

from __future__ import annotations

import onnx
import pytest
from codegen_helpers import assert_equivalent
from hypothesis import strategies as st

from designer import DesignBuilder, export_onnx, validate
from designer.core.builder import Port
from designer.core.params import ParamError
from designer.core.shapes import ShapeError

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
IDS = st.sampled_from(["int64"] * 4 + ["int32"] * 2 + ["float32", "bool"])


@st.composite
def embedding_case(draw) -> Case:
    """Ids of rank 1 to 4, mostly integer; a vocabulary of at least 8 (torch_check draws ids below
    8); padding_idx in range, negative, or past either end."""
    n = draw(st.integers(8, 12))
    params = draw(
        st.fixed_dictionaries(
            {"num_embeddings": st.just(n), "embedding_dim": st.integers(1, 6)},
            optional={"padding_idx": st.one_of(st.none(), st.integers(-14, 14))},
        )
    )
    return Case(
        "Embedding", params, (draw(any_shape(range(1, 5), SIZE)),), draw(BATCH), (draw(IDS),)
    )


@st.composite
def parameter_case(draw) -> Case:
    """1 to 5 sizes, now and then a name (T) or the batch (N), which a learnable tensor lacks."""
    sizes = draw(
        st.lists(st.one_of(SIZE, SIZE, SIZE, st.sampled_from(["T", "N"])), min_size=1, max_size=5)
    )
    params = draw(
        st.fixed_dictionaries(
            {"shape": st.just(sizes)},
            optional={
                "init": st.sampled_from(["zeros", "normal", "trunc_normal", "ones", "uniform"]),
                "std": st.floats(0.0, 2.0),
            },
        )
    )
    return Case("Parameter", params, (), draw(BATCH))


@st.composite
def expand_case(draw) -> Case:
    """x of size 1 in dimension 0 (mostly), batched, of another size, or a scalar; like batched
    (mostly), of a fixed size in dimension 0, or a scalar."""
    rest = draw(st.lists(SIZE, max_size=3))
    first = draw(st.sampled_from([1, 1, 1, 1, None, 2, 3, "scalar"]))
    x = () if first == "scalar" else (first, *rest)
    like = draw(any_shape(range(1, 5), SIZE))
    kind = draw(st.sampled_from(["batched"] * 6 + ["fixed", "scalar"]))
    if kind == "fixed":
        like = (draw(st.integers(1, 3)), *like[1:])
    elif kind == "scalar":
        like = ()
    dtypes = (draw(st.sampled_from(["float32", "int64", "bool"])), "float32")
    return Case("ExpandBatch", {}, (x, like), draw(BATCH), dtypes)


@st.composite
def lookup_case(draw) -> Case:
    """Ids (mostly integer) and a weight of V >= 8 rows (ids are drawn below 8), mostly 2-D."""
    ids = draw(any_shape(range(1, 4), SIZE))
    weight = draw(st.sampled_from([(8, 3), (9, 5), (10, 1), (12, 2), (8,), (2, 8, 3)]))
    return Case("EmbeddingLookup", {}, (ids, weight), draw(BATCH), (draw(IDS), "float32"))


@st.composite
def tied_linear_case(draw) -> Case:
    """Features (..., F), a weight (O, F') with F' mostly F, an optional bias (O,) or wrong."""
    x = draw(any_shape(range(2, 4), SIZE))
    rows = draw(SIZE)
    columns = draw(st.sampled_from([x[-1]] * 4 + [x[-1] + 1]))
    bias = draw(st.sampled_from([None, None, (rows,), (rows + 1,)]))
    dtype = draw(st.sampled_from(["float32"] * 6 + ["int64"]))
    return Case("TiedLinear", {}, (x, (rows, columns), bias), draw(BATCH), (dtype,))


CASES = {
    "Embedding": embedding_case(),
    "Parameter": parameter_case(),
    "ExpandBatch": expand_case(),
    "EmbeddingLookup": lookup_case(),
    "TiedLinear": tied_linear_case(),
}


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """ExpandBatch takes an x of size 1 in dimension 0 only. torch's expand also passes an x whose
    dimension 0 already has like's size (a batched x: nothing to expand) and a scalar x (expanded
    to a vector): both are wiring mistakes in a design."""
    if case.block != "ExpandBatch" or exc.code != "mismatch":
        return False
    x, like = case.shapes
    return not x or x[0] is None or x[0] == like[0]


def test_embedding_rules_match_torch() -> None:
    tally = run_family(CASES, examples=500, deliberate=deliberate)
    assert_family_covered("embedding", CASES, tally)


REGRESSIONS = [
    (
        Case("Embedding", {"num_embeddings": 10, "embedding_dim": 4}, ((None, 5),), 10, ("int64",)),
        ACCEPT,
    ),
    (Case("Embedding", {"num_embeddings": 10}, ((None, 2, 3),), 10, ("int32",)), ACCEPT),
    (Case("Embedding", {"num_embeddings": 10}, ((None, 3, 4, 4),)), REJECT),  # float ids
    (
        Case("Embedding", {"num_embeddings": 10, "padding_idx": -10}, ((None, 5),), 10, ("int64",)),
        ACCEPT,
    ),
    (
        Case("Embedding", {"num_embeddings": 10, "padding_idx": 10}, ((None, 5),), 10, ("int64",)),
        REJECT,
    ),
    (Case("Parameter", {"shape": [1, 1, 8], "init": "zeros"}), ACCEPT),
    (Case("Parameter", {"shape": [1, "T", 8]}), REJECT),
    (Case("ExpandBatch", {}, ((1, 1, 8), (None, 4, 8))), ACCEPT),
    (Case("ExpandBatch", {}, ((1, 8), (3, 4))), ACCEPT),  # like of a fixed size
    (Case("ExpandBatch", {}, ((2, 1, 8), (None, 4, 8))), REJECT),
    (Case("ExpandBatch", {}, ((None, 1, 8), (None, 4, 8))), DELIBERATE),  # already batched
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_embedding_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome


def test_float_input_is_an_issue_on_the_embedding_port() -> None:
    b = DesignBuilder("float_ids")
    b.output(b.add("Embedding", b.input((3, 32, 32)), node_id="emb"))
    (issue,) = validate(b.build()).errors
    assert (issue.node, issue.port, issue.code) == ("emb", "in", "dtype")
    assert issue.message == "Embedding takes integer token ids, input 1 is float32 (N×3×32×32)"
    assert "set the Input's dtype to int64" in issue.hint


def test_expand_batch_refuses_a_batched_x_with_a_fix() -> None:
    b = DesignBuilder("batched_cls")
    x = b.input((4, 8))
    b.output(b.add("ExpandBatch", x, x, node_id="expand"))
    (issue,) = validate(b.build()).errors
    assert (issue.node, issue.port, issue.code) == ("expand", "x", "mismatch")
    assert "size 1 in dimension 0" in issue.message and "Parameter" in issue.hint


# -- designs ---------------------------------------------------------------------------------


def cls_tokens() -> DesignBuilder:
    """N×16×64 tokens: a class token expanded and put first, a positional embedding added."""
    b = DesignBuilder("cls_tokens")
    x = b.input((16, 64))
    cls = b.add("Parameter", node_id="cls_token", shape=[1, 1, 64], init="zeros")
    pos = b.add("Parameter", node_id="pos_embed", shape=[1, 17, 64], init="trunc_normal")
    tokens = b.add("Concat", b.add("ExpandBatch", cls, x, node_id="expand"), x, dim=1)
    b.output(b.add("Linear", b.add("Add", tokens, pos), out_features=10))
    return b


def patches() -> DesignBuilder:
    """Image patches as N×64×16 (no transpose): the class token goes first along dimension 2."""
    b = DesignBuilder("patches")
    h = b.add("Conv2d", b.input((3, 32, 32)), out_channels=64, kernel_size=8, stride=8)
    h = b.add("Flatten", h, start_dim=2)
    cls = b.add("Parameter", node_id="cls_token", shape=[1, 64, 1], init="normal", std=0.5)
    pos = b.add("Parameter", node_id="pos_embed", shape=[1, 64, 17], init="uniform")
    tokens = b.add("Concat", b.add("ExpandBatch", cls, h, node_id="expand"), h, dim=2)
    b.output(b.add("Add", tokens, pos))
    return b


def token_ids() -> DesignBuilder:
    """N×16 int64 ids -> Embedding -> Linear."""
    b = DesignBuilder("token_ids")
    b.design.add_node("Input", {"shape": [16], "dtype": "int64"}, node_id="x")
    emb = b.add("Embedding", Port("x", "out"), node_id="emb", num_embeddings=50, embedding_dim=32)
    b.design.node("emb")["params"]["padding_idx"] = 0
    b.output(b.add("Linear", emb, out_features=10))
    return b


def tied_head() -> DesignBuilder:
    """A language model's ends: one Parameter table read by the lookup and by the head."""
    b = DesignBuilder("tied_head")
    ids = b.input((16,), dtype="int64")
    table = b.add("Parameter", node_id="wte", shape=[50, 32], init="normal")
    h = b.add("EmbeddingLookup", ids, table, node_id="lookup")
    h = b.add("LayerNorm", h, node_id="norm")
    b.output(b.add("TiedLinear", h, table, node_id="head"))
    return b


DESIGNS = {
    "cls_tokens": cls_tokens,
    "patches": patches,
    "token_ids": token_ids,
    "tied_head": tied_head,
}
OUT = {
    "cls_tokens": (None, 17, 10),
    "patches": (None, 64, 17),
    "token_ids": (None, 16, 10),
    "tied_head": (None, 16, 50),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_design_builds_generates_and_exports(name, tmp_path) -> None:
    design = DESIGNS[name]().build()
    report = validate(design)
    assert report.ok, report.errors
    assert report.nodes["y"].in_shapes[0] == OUT[name]
    source = assert_equivalent(design)
    if name in ("cls_tokens", "patches"):
        assert "self.cls_token()" in source and "self.expand(" in source
    if name == "tied_head":  # one table, read twice: the weights are tied
        assert "wte = self.wte()" in source
        assert "F.embedding(x, wte)" in source and "F.linear(x, wte)" in source
        assert validate(design).total_params == 50 * 32 + 2 * 32
    result = export_onnx(design, tmp_path / "m.onnx", dynamic=("batch",))
    assert result.checked and len(result.parity) == 2 and all(p.ok for p in result.parity)
    if name in ("token_ids", "tied_head"):  # the lookup is a Gather from the table
        assert result.ops["Gather"] == 1
    if name in ("cls_tokens", "patches"):  # the learnable tensors are initializers
        initializers = {i.name for i in onnx.load(tmp_path / "m.onnx").graph.initializer}
        assert {"cls_token.weight", "pos_embed.weight"} <= initializers, initializers


def test_learnable_tensors_are_counted() -> None:
    report = validate(cls_tokens().build())
    assert report.nodes["cls_token"].params == 64
    assert report.nodes["pos_embed"].params == 17 * 64
    assert report.nodes["expand"].params == 0
    assert validate(token_ids().build()).nodes["emb"].params == 50 * 32
