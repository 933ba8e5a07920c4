"""Attention blocks (designer/blocks/attention.py) against torch: MultiheadAttention,
ScaledDotProductAttention, TransformerEncoderLayer, TransformerDecoderLayer; and end to end
(validation, live model, generated code, ONNX export)."""

from __future__ import annotations

import pytest
import torch
from codegen_helpers import assert_equivalent
from hypothesis import strategies as st

import designer
import designer.blocks.attention  # registers the family where designer.blocks does not yet
from designer import DesignBuilder, export_onnx, validate
from designer.core.cost import node_cost
from designer.core.params import ParamError
from designer.core.shapes import ShapeError
from designer.core.tensor import TensorSpec
from designer.interop.export import ExportError
from designer.live.layers.attention import Attention, EncoderLayer

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
DATA = st.sampled_from(["float32"] * 12 + ["int64", "bool"])
MASK = st.sampled_from(["bool", "bool", "float32", "float32", "int64"])


@st.composite
def near(draw, shape: tuple) -> tuple:
    """``shape`` mostly; now and then a near miss: one size changed (the batch fixed), a
    dimension fewer or one more."""
    kind = draw(st.integers(0, 15))
    if kind == 13:
        at = draw(st.integers(0, len(shape) - 1))
        return (*shape[:at], draw(SIZE), *shape[at + 1 :])
    if kind == 14 and len(shape) > 1:
        return shape[1:]
    return (*shape, draw(SIZE)) if kind == 15 else shape


def optional(draw, strategy: st.SearchStrategy):
    """Unwired (None) half of the time."""
    return draw(strategy) if draw(st.booleans()) else None


def width(draw, heads: int) -> int:
    """Features that heads divide (mostly) or any."""
    return heads * draw(st.integers(1, 3)) if draw(st.integers(0, 5)) else draw(st.integers(1, 8))


def typed(draw, block, params, shapes, masks_from: int) -> Case:
    """A case with float32 (now and then another) data inputs and bool, float or int masks."""
    dtypes = tuple(draw(MASK if i >= masks_from else DATA) for i in range(len(shapes)))
    return Case(block, params, tuple(shapes), draw(BATCH), dtypes)


def attn_mask(heads: int, rows: int, cols: int) -> st.SearchStrategy:
    """An L×S mask, one per sample (N×L×S, right for one head), or N·heads×L×S of a batch of 2."""
    return st.sampled_from([(rows, cols), (None, rows, cols), (2 * heads, rows, cols)]).flatmap(
        near
    )


@st.composite
def mha_case(draw) -> Case:
    heads, length, source = draw(st.integers(1, 4)), draw(SIZE), draw(SIZE)
    embed = width(draw, heads)
    query = draw(near((None, length, embed)))
    key = optional(draw, near((None, source, draw(st.sampled_from([embed, embed, 3])))))
    keys = source if key is not None else length
    value_length = keys if draw(st.integers(0, 4)) else draw(SIZE)
    value = optional(draw, near((None, value_length, draw(st.sampled_from([embed, 5])))))
    padding = optional(draw, near((None, keys)))
    mask = optional(draw, attn_mask(heads, length, keys))
    params = draw(
        st.fixed_dictionaries(
            {"num_heads": st.just(heads)},
            optional={
                "dropout": st.floats(0.0, 1.0),
                "bias": st.booleans(),
                "causal": st.booleans(),
            },
        )
    )
    return typed(draw, "MultiheadAttention", params, (query, key, value, padding, mask), 3)


@st.composite
def sdpa_case(draw) -> Case:
    """Batch dimensions that match, broadcast (1 or fewer) or clash; a mask that broadcasts."""
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    length, source, features = draw(SIZE), draw(SIZE), draw(SIZE)

    def batch():
        kind = draw(st.integers(0, 3))
        return extra if kind < 2 else (1,) * len(extra) if kind == 2 else extra[1:]

    query = draw(near((None, *extra, length, features)))
    key = draw(near((None, *batch(), source, features)))
    value = draw(near((None, *batch(), source, draw(SIZE))))
    masks = [(length, source), (1, source), (None, *extra, length, source), (length, 1)]
    mask = optional(draw, st.sampled_from(masks).flatmap(near))
    params = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "dropout_p": st.sampled_from([0.0, 0.0, 0.0, 0.5]),
                "is_causal": st.booleans(),
                "scale": st.one_of(st.none(), st.floats(-2.0, 2.0)),
            },
        )
    )
    return typed(draw, "ScaledDotProductAttention", params, (query, key, value, mask), 3)


LAYER_PARAMS = {
    "dim_feedforward": st.integers(1, 8),
    "dropout": st.floats(0.0, 1.0),
    "activation": st.sampled_from(["relu", "gelu"]),
    "layer_norm_eps": st.sampled_from([0.0, 1e-5, 0.1]),
    "norm_first": st.booleans(),
    "bias": st.booleans(),
    "causal": st.booleans(),
}


def layer_params(draw, heads: int) -> dict:
    return draw(st.fixed_dictionaries({"nhead": st.just(heads)}, optional=LAYER_PARAMS))


@st.composite
def encoder_case(draw) -> Case:
    heads, length = draw(st.integers(1, 4)), draw(SIZE)
    src = draw(near((None, length, width(draw, heads))))
    mask = optional(draw, attn_mask(heads, length, length))
    padding = optional(draw, near((None, length)))
    shapes = (src, mask, padding)
    return typed(draw, "TransformerEncoderLayer", layer_params(draw, heads), shapes, 1)


@st.composite
def decoder_case(draw) -> Case:
    heads, length, source = draw(st.integers(1, 4)), draw(SIZE), draw(SIZE)
    features = width(draw, heads)
    tgt = draw(near((None, length, features)))
    memory = draw(near((None, source, features if draw(st.integers(0, 5)) else draw(SIZE))))
    masks = (
        optional(draw, attn_mask(heads, length, length)),
        optional(draw, attn_mask(heads, length, source)),
        optional(draw, near((None, length))),
        optional(draw, near((None, source))),
    )
    shapes = (tgt, memory, *masks)
    return typed(draw, "TransformerDecoderLayer", layer_params(draw, heads), shapes, 2)


CASES = {
    "MultiheadAttention": mha_case(),
    "ScaledDotProductAttention": sdpa_case(),
    "TransformerEncoderLayer": encoder_case(),
    "TransformerDecoderLayer": decoder_case(),
}


# Per block: the ports of its self-attention's masks (attention, key padding).
SELF_ATTENTION = {
    "MultiheadAttention": (4, 3),
    "TransformerEncoderLayer": (1, 2),
    "TransformerDecoderLayer": (2, 4),
}


def fast_path(case: Case) -> bool:
    """torch's evaluation fast path runs the self-attention: even heads, biases, bool masks (and
    for MultiheadAttention, key and value unwired)."""
    heads = case.params.get("num_heads", case.params.get("nhead"))
    masks = SELF_ATTENTION[case.block]
    return (
        heads % 2 == 0
        and case.params.get("bias", True)
        and all(case.shapes[i] is None or case.dtype(i) == "bool" for i in masks)
        and (case.block != "MultiheadAttention" or case.shapes[1] == case.shapes[2] is None)
    )


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """Rejections torch does not make, on purpose:

    * a 2-D sequence (N×E): torch reads it as one unbatched sequence, attending across samples;
    * a bool and a float mask together: torch warns that it has deprecated mixing them;
    * ScaledDotProductAttention with dropout_p > 0: the function drops in evaluation too;
    * ScaledDotProductAttention with is_causal and an attn_mask: torch refuses it, save in its CPU
      kernel for 4-D inputs (which backend runs a call must not decide whether it works);
    * a self-attention mask of the wrong shape where torch's evaluation fast path runs: it views
      masks as it can (any L·L elements as L×L, one per sample shared by the heads), while its
      training path refuses them;
    * causal attention with queries and keys of different lengths: torch's causal hint takes it
      (aligning the mask top-left) unless a key padding mask is wired too.
    """
    message = exc.message
    if case.block in SELF_ATTENTION:
        if exc.port in SELF_ATTENTION[case.block] and fast_path(case):
            return True
        return "is causal" in message or "across samples" in message or "deprecated" in message
    if exc.code == "rank":
        return "across samples" in message
    return "dropout_p" in message or "is_causal" in message


def test_attention_rules_match_torch() -> None:
    tally = run_family(CASES, examples=500, deliberate=deliberate)
    assert_family_covered("attention", CASES, tally)


def case(block: str, params: dict, *shapes, masks: str = "float32") -> Case:
    """A case with every port given (unwired: None): float32 data, masks of dtype ``masks``."""
    spec = designer.blocks.REGISTRY.get(block)
    shapes = shapes + (None,) * (len(spec.inputs) - len(shapes))
    dtypes = tuple(masks if "mask" in port else "float32" for port in spec.inputs)
    return Case(block, params, shapes, 10, dtypes)


MHA, SDPA = "MultiheadAttention", "ScaledDotProductAttention"
ENCODER, DECODER = "TransformerEncoderLayer", "TransformerDecoderLayer"
Q, QKV4 = (None, 3, 4), (None, 2, 3, 4)
REGRESSIONS = [
    (case(MHA, {"num_heads": 3}, (None, 4, 8)), REJECT),
    (case(MHA, {"num_heads": 2}, (None, 8)), DELIBERATE),  # unbatched: across samples
    (case(MHA, {"num_heads": 1}, (None, 4, 8), (None, 5, 3), (None, 5, 6)), ACCEPT),
    (case(MHA, {"num_heads": 1, "causal": True}, Q, (None, 5, 4)), DELIBERATE),  # L != S
    (case(MHA, {"num_heads": 1, "causal": True}, Q, (None, 5, 4), None, (None, 5)), REJECT),
    (case(MHA, {"num_heads": 2}, Q, None, None, (None, 3), (3, 3)), ACCEPT),
    (case(MHA, {"num_heads": 2}, Q, None, None, None, (None, 3, 3), masks="bool"), REJECT),
    (case(ENCODER, {"nhead": 2}, Q, (9,), masks="bool"), DELIBERATE),  # the fast path views it
    (case(ENCODER, {"nhead": 2}, Q, (None, 3, 3)), REJECT),
    (case(MHA, {"num_heads": 2}, Q, None, None, None, (None, 3, 3)), REJECT),
    (case(MHA, {"num_heads": 1}, Q, None, None, None, (None, 3, 3)), ACCEPT),
    (case(SDPA, {"is_causal": True}, QKV4, QKV4, QKV4, (3, 3)), DELIBERATE),
    (case(SDPA, {"is_causal": True}, Q, Q, Q, (3, 3)), REJECT),
    (case(SDPA, {"dropout_p": 0.5}, Q, Q, Q), DELIBERATE),
    (case(SDPA, {}, QKV4, (None, 1, 5, 4), (None, 2, 5, 6), (1, 5)), ACCEPT),
    (case(SDPA, {}, Q, (None, 2, 5, 4), (None, 5, 6)), REJECT),
    (case(SDPA, {}, (None, 4), (None, 4), (None, 4)), DELIBERATE),  # across samples
    (case(ENCODER, {"nhead": 2, "causal": True}, Q, None, (None, 3)), ACCEPT),
    (case(DECODER, {"nhead": 2}, Q, (None, 5, 6)), REJECT),  # memory's width
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_attention_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome


@pytest.mark.parametrize(
    ("block", "params", "dims"),
    [
        ("MultiheadAttention", {"num_heads": 2, "causal": True}, [("B", "T", 8)]),
        ("ScaledDotProductAttention", {}, [("B", 2, "T", 4), ("B", 2, "S", 4), ("B", 1, "S", 6)]),
        ("TransformerEncoderLayer", {"nhead": 2, "causal": True}, [("B", "T", 8)]),
        ("TransformerDecoderLayer", {"nhead": 2}, [("B", "T", 8), ("B", "S", 8)]),
    ],
)
def test_symbols_pass_through(block: str, params: dict, dims: list) -> None:
    """A batch named B and lengths that vary keep their names (query, or query with value's
    features)."""
    spec = designer.blocks.REGISTRY.get(block)
    values, _ = spec.resolve(params)
    specs = [TensorSpec.of(d) for d in dims]
    out = spec.infer(values, specs + [None] * (len(spec.inputs) - len(specs)))
    assert out.dims == (*dims[0][:-1], dims[-1][-1])


# -- end to end ----------------------------------------------------------------------------------


def gpt(heads: int = 4) -> designer.Design:
    """A GPT-like block: causal self-attention, residual, layer norm, on 8 positions of 32."""
    b = DesignBuilder("gpt")
    x = b.input((8, 32))
    attn = b.add(MHA, x, node_id="attn", num_heads=heads, causal=True)
    b.output(b.add("LayerNorm", b.add("Add", x, attn, node_id="res"), node_id="norm"))
    return b.build()


def wired(name: str, block: str, params: dict, inputs: dict) -> designer.Design:
    """``block`` fed by Inputs: port -> (sample shape, dtype)."""
    b = DesignBuilder(name)
    b.design.add_node(block, params, node_id="block")
    for port, (shape, dtype) in inputs.items():
        b.input(shape, node_id=port)
        b.design.node(port)["params"]["dtype"] = dtype
        b.design.connect(port, "out", "block", port)
    b.output(b.port("block", "out"))
    return b.build()


F32, BOOL = "float32", "bool"
DESIGNS = {
    "gpt": gpt,
    "cross": lambda: wired(
        "cross",
        MHA,
        {"num_heads": 1},
        {"query": ((4, 8), F32), "key": ((6, 5), F32), "key_padding_mask": ((6,), F32)},
    ),
    "sdpa": lambda: wired(
        "sdpa",
        SDPA,
        {"scale": 0.3},
        {
            "query": ((2, 4, 8), F32),
            "key": ((2, 6, 8), F32),
            "value": ((2, 6, 5), F32),
            "attn_mask": ((1, 4, 6), F32),
        },
    ),
    "encoder": lambda: wired(
        "encoder",
        ENCODER,
        {"nhead": 2, "dim_feedforward": 16, "causal": True, "norm_first": True},
        {"src": ((6, 8), F32), "src_key_padding_mask": ((6,), F32)},
    ),
    "encoder_bool": lambda: wired(
        "encoder_bool",
        ENCODER,
        {"nhead": 2, "dim_feedforward": 16, "activation": "gelu"},
        {"src": ((6, 8), F32), "src_key_padding_mask": ((6,), BOOL)},
    ),
    "decoder": lambda: wired(
        "decoder",
        DECODER,
        {"nhead": 2, "dim_feedforward": 16, "causal": True, "bias": False},
        {"tgt": ((5, 8), F32), "memory": ((7, 8), F32)},
    ),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_generated_code_equals_the_live_model(name: str) -> None:
    design = DESIGNS[name]()
    assert validate(design).ok
    assert_equivalent(design)


@pytest.mark.parametrize("name", ["gpt", "cross", "sdpa", "encoder", "decoder"])
def test_onnx_export_verifies(name: str, tmp_path) -> None:
    result = export_onnx(DESIGNS[name](), tmp_path / f"{name}.onnx")
    assert result.checked and all(p.ok for p in result.parity)


def test_gpt_like_design() -> None:
    """Valid, built, causal (a later position changes no earlier output), costed, and written as
    ``Attention(32, 4, causal=True)``."""
    design = gpt()
    report = validate(design)
    assert report.ok
    source = assert_equivalent(design)
    assert "Attention(32, 4, causal=True)" in source
    model = designer.build(design, "cpu").eval()
    x = torch.randn(2, 8, 32)
    later = x.clone()
    later[:, -1] += 1.0
    with torch.no_grad():
        a, b = model(x), model(later)
    assert torch.allclose(a[:, :-1], b[:, :-1], atol=1e-6) and not torch.allclose(a, b)
    assert node_cost(design, report, "attn").macs == 4 * 8 * 32 * 32 + 2 * 8 * 8 * 32


def test_a_wrong_head_count_is_an_issue_on_its_node() -> None:
    (issue,) = validate(gpt(heads=5)).errors
    assert (issue.node, issue.code) == ("attn", "channels")
    assert "5 heads" in issue.message and "num_heads" in issue.hint


@pytest.mark.parametrize(
    ("port", "shape", "dtype", "words"),
    [
        ("key_padding_mask", (5,), BOOL, "N×4"),
        ("key_padding_mask", (4,), "int64", "a mask is bool"),
        ("attn_mask", (4, 4), F32, "N·2×4×4"),
        ("key", (4, 8), "int64", "Embedding"),
    ],
)
def test_bad_inputs_are_issues_on_their_port(port, shape, dtype, words) -> None:
    inputs = {"query": ((4, 8), F32), port: (shape, dtype)}
    (issue,) = validate(wired("bad", MHA, {"num_heads": 2}, inputs)).errors
    assert (issue.node, issue.port) == ("block", port)
    assert words in issue.message + issue.hint


def test_mixed_masks_are_refused_with_the_fix() -> None:
    inputs = {"query": ((4, 8), F32), "key_padding_mask": ((4,), BOOL), "attn_mask": ((4, 4), F32)}
    (issue,) = validate(wired("mixed", MHA, {"num_heads": 1}, inputs)).errors
    assert issue.port == "attn_mask" and "same dtype" in issue.hint


@pytest.mark.parametrize("padding", [F32, BOOL])
def test_causal_attention_equals_torch_with_the_mask_written_out(padding: str) -> None:
    torch.manual_seed(0)
    layer = Attention(8, 2, causal=True).eval()
    x = torch.randn(3, 5, 8)
    pad = torch.randn(3, 5) if padding == F32 else torch.rand(3, 5) > 0.8
    pad[:, 0] = 0  # the first key stays visible: no row is masked whole
    later = torch.ones(5, 5, dtype=torch.bool).triu(1)
    mask = later if padding == BOOL else torch.zeros(5, 5).masked_fill(later, float("-inf"))
    reference = torch.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    reference.load_state_dict(layer.state_dict())
    with torch.no_grad():
        expected = reference(x, x, x, key_padding_mask=pad, attn_mask=mask, need_weights=False)
        assert torch.allclose(layer(x, key_padding_mask=pad), expected[0], atol=1e-6)


def test_encoder_float_masks_avoid_torchs_fast_path_nan() -> None:
    """pytorch/pytorch#118628: in evaluation, torch's fast path gives NaN for float masks."""
    torch.manual_seed(0)
    layer = EncoderLayer(8, 2, dim_feedforward=16, dropout=0.0).eval()
    x, mask = torch.randn(2, 6, 8), torch.randn(6, 6)
    with torch.no_grad():
        out = layer(x, mask)
        assert torch.allclose(out, layer.train()(x, mask), atol=1e-5)  # the standard path


def test_sdpa_on_3d_inputs_is_refused_for_onnx_by_name(tmp_path) -> None:
    """Found by random designs: onnxscript writes scaled_dot_product_attention for 4-D only."""
    inputs = {port: ((4, 8), F32) for port in ("query", "key", "value")}
    with pytest.raises(ExportError, match=r"ScaledDotProductAttention `block`: .*4-D"):
        export_onnx(wired("sdpa3", SDPA, {}, inputs), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
