"""Tensor specs: symbolic sizes anywhere, dtypes, the Input block that makes them, and their round
trip through design files (older files open unchanged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from common import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

import designer
from designer import Design, validate
from designer.core.fileformat import dumps, loads
from designer.core.params import ParamError
from designer.core.paramtext import from_text, to_text
from designer.core.tensor import TensorSpec, as_spec, format_spec

SYMBOLS = st.sampled_from(["T", "L", "S", "seq", "B2"])
SIZES = st.integers(1, 64)


@st.composite
def specs(draw) -> TensorSpec:
    """Specs of rank 1 to 6 with sizes, symbols (the batch N among them, anywhere) and a dtype."""
    dims = draw(st.lists(st.one_of(SIZES, SYMBOLS, st.just("N")), min_size=1, max_size=6))
    return TensorSpec.of(dims, draw(st.sampled_from(["float32", "int64", "bool", "float16"])))


def test_plain_specs_are_tuples_with_the_batch_first():
    spec = TensorSpec((None, 3, 8, 8))
    assert spec.dims == ("N", 3, 8, 8) and spec.dtype == "float32" and spec.names == ()
    assert spec == TensorSpec.of(("N", 3, 8, 8)) and hash(spec) == hash(TensorSpec.of(spec.dims))
    assert format_spec(spec) == "N×3×8×8" and format_spec(spec.with_dtype("int64")) == (
        "N×3×8×8 int64"
    )
    assert as_spec((None, 4)) == TensorSpec((None, 4)) and as_spec(spec) is spec


def test_a_symbol_may_sit_anywhere():
    spec = TensorSpec.of(("T", "N", 512))
    assert spec.shape == (None, None, 512) and spec.dims == ("T", "N", 512)
    assert spec.symbol(0) == "T" and spec.symbol(1) == "N" and spec.symbol(2) is None
    assert spec.symbols == ("T", "N")
    assert spec.with_shape((None, None, 64)).dims == ("T", "N", 64)


@given(specs())
def test_specs_round_trip_through_json(spec: TensorSpec):
    assert TensorSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    assert TensorSpec.of(spec.dims, spec.dtype) == spec


@pytest.mark.parametrize(
    ("shape", "dtype", "dims"),
    [
        ([3, 8, 8], "float32", ("N", 3, 8, 8)),
        (["T"], "int64", ("N", "T")),
        (["T", "N", 32], "float32", ("T", "N", 32)),
        (["T", "T"], "bool", ("N", "T", "T")),
    ],
)
def test_input_declares_sizes_symbols_and_dtype(shape, dtype, dims):
    report = validate(_input_design({"shape": shape, "dtype": dtype}))
    assert report.ok, [str(i) for i in report.issues]
    spec = report.nodes["x"].out_specs[0]
    assert spec.dims == dims and spec.dtype == dtype
    assert report.nodes["y"].spec == spec  # the Output shows what reaches it


@pytest.mark.parametrize(
    "shape", [["N", "N", 3], ["x", 3], ["3a"], [0], ["N"], [1, 2, 3, 4, 5, 6], ["é"]]
)
def test_input_refuses_malformed_shapes(shape):
    (issue,) = validate(_input_design({"shape": shape})).errors
    assert issue.code == "param" and issue.param == "shape"


def test_override_keeps_the_declared_dtype():
    design = _input_design({"shape": ["T"], "dtype": "int64"})
    spec = validate(design, {"x": (2, 7)}).nodes["y"].spec
    assert spec == TensorSpec((2, 7), "int64")
    assert validate(design, {"x": TensorSpec.of(("B", 5), "bool")}).nodes["y"].spec.dims == (
        "B",
        5,
    )


def test_shape_text_reads_names():
    param = designer.blocks.REGISTRY.get("Input").param_index["shape"]
    assert from_text(param, "T, N, 512") == ["T", "N", 512]
    assert from_text(param, "3x572x572") == [3, 572, 572]
    assert from_text(param, "N x T x 64") == ["N", "T", 64]
    assert from_text(param, to_text(param, ("T", 16))) == ["T", 16]
    with pytest.raises(ParamError):
        from_text(param, "3, 2.5.1")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(SIZES, SYMBOLS), min_size=1, max_size=4),
    st.integers(0, 4),
    st.sampled_from(["float32", "int64", "bool"]),
)
def test_input_specs_round_trip_through_files(sizes, batch_at, dtype):
    shape = [*sizes[:batch_at], "N", *sizes[batch_at:]] if batch_at < len(sizes) else sizes
    design = _input_design({"shape": shape, "dtype": dtype})
    again = loads(dumps(design))
    assert again == design and dumps(again) == dumps(design)
    assert validate(again).nodes["y"].spec == validate(design).nodes["y"].spec


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_existing_files_open_unchanged(path: Path):
    """The examples (the golden outputs' inputs, built from the library): the same text written
    back, and in the CNN examples every tensor float32 with only the batch symbolic, as before
    tensor specs (the token models' ids are int64)."""
    design = designer.load(path)
    assert dumps(design) == path.read_text()
    report = validate(design)
    assert report.ok
    if any(design.node(n)["params"].get("dtype") for n in design.nodes_of_type("Input")):
        return
    for info in report.nodes.values():
        assert all(s.dtype == "float32" and not s.names for s in (*info.out_specs, info.spec))
        assert info.out_shapes == tuple(s.shape for s in info.out_specs)


def _input_design(params: dict) -> Design:
    design = Design()
    design.add_node("Input", params, node_id="x")
    design.add_node("Output", node_id="y")
    design.connect("x", "out", "y", "in")
    return design
