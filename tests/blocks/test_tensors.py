"""Tensor plumbing (designer/blocks/tensors.py) against torch: reshaping, reordering, picking,
slicing, splitting, matrix products, reductions, constants, pixel and channel shuffles; then each
block end to end in small designs (live model, generated code, ONNX export)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from codegen_helpers import assert_equivalent
from hypothesis import strategies as st

from designer import DesignBuilder, export_onnx, validate
from designer.blocks import REGISTRY
from designer.core.params import ParamError
from designer.core.shapes import ShapeError
from designer.core.tensor import TensorSpec
from designer.interop.export import ExportError

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

SIZE = st.sampled_from([1, 1, 2, 2, 3, 4])
SHAPE = any_shape(range(1, 6), SIZE)
DIM = st.integers(-7, 6)
BIG = st.integers(63, 70)
# element types: mostly none given (float32, and the shape-rule and renamed-batch checks run)
DTYPES = st.sampled_from([()] * 6 + [("int64",), ("bool",), ("float64",), ("int32",), ("float16",)])


def _dim(shape: tuple, extra: int = 0) -> st.SearchStrategy:
    """A dimension of ``shape`` (negative too), mostly past the batch, sometimes out of range."""
    rank = len(shape) + extra
    inside = st.integers(1, rank - 1) if rank > 1 else st.just(0)
    return st.one_of(inside, inside.map(lambda d: d - rank), st.integers(-rank, rank - 1), DIM)


def _case(block: str, params, shape_or_shapes, draw, dtypes=None) -> Case:
    shapes = shape_or_shapes if isinstance(shape_or_shapes, list) else [shape_or_shapes]
    kinds = draw(DTYPES) if dtypes is None else dtypes
    return Case(block, params, tuple(shapes), draw(BATCH), kinds)


@st.composite
def _regrouped(draw, sizes: tuple) -> list:
    """Sizes with the same product (neighbours merged, maybe one -1), or any sizes."""
    if not sizes or draw(st.integers(0, 4)) == 0:
        return draw(st.lists(st.sampled_from([-2, -1, 0, 1, 2, 3, 4, 6]), min_size=1, max_size=4))
    out = [sizes[0]]
    for s in sizes[1:]:
        if draw(st.booleans()):
            out[-1] *= s
        else:
            out.append(s)
    if draw(st.booleans()):
        out[draw(st.integers(0, len(out) - 1))] = -1
    if draw(st.booleans()):
        out.insert(draw(st.integers(0, len(out))), 1)
    return out


@st.composite
def reshape_case(draw) -> Case:
    shape = draw(SHAPE)
    return _case("Reshape", {"shape": draw(_regrouped(shape[1:]))}, shape, draw)


@st.composite
def unflatten_case(draw) -> Case:
    shape = draw(any_shape(range(1, 5), st.sampled_from([1, 2, 4, 6])))
    dim = draw(_dim(shape))
    size = shape[dim] if -len(shape) <= dim < len(shape) else None
    sizes = draw(_regrouped(() if size is None else tuple(_factors(size, draw))))
    return _case("Unflatten", {"dim": dim, "sizes": sizes}, shape, draw)


def _factors(size: int, draw) -> list[int]:
    """``size`` as a product of 1 to 3 factors."""
    factors = [size]
    for _ in range(draw(st.integers(0, 2))):
        d = draw(st.sampled_from([d for d in (1, 2, 3) if factors[-1] % d == 0]))
        factors[-1] //= d
        factors.append(d)
    return factors


@st.composite
def permute_case(draw) -> Case:
    shape = draw(SHAPE)
    dims = draw(st.permutations(range(len(shape))))
    kind = draw(st.sampled_from(["perm"] * 4 + ["negative", "twice", "length"]))
    if kind == "negative":
        dims = [d - len(shape) if draw(st.booleans()) else d for d in dims]
    elif kind == "twice" and len(dims) > 1:
        dims[0] = dims[1]
    elif kind == "length":
        dims = draw(st.lists(DIM, min_size=1, max_size=6))
    return _case("Permute", {"dims": dims}, shape, draw)


@st.composite
def one_dim_case(draw, block: str) -> Case:
    """Transpose, Squeeze, Unsqueeze and Select: one or two dimensions, an index."""
    shape = draw(SHAPE)
    params = {"dim": draw(_dim(shape, block == "Unsqueeze"))}
    if block == "Transpose":
        params = {"dim0": draw(_dim(shape)), "dim1": draw(_dim(shape))}
    elif block == "Select":
        params["index"] = draw(st.integers(-5, 5))
    return _case(block, params, shape, draw)


@st.composite
def slice_case(draw) -> Case:
    shape, ends = draw(SHAPE), st.one_of(st.none(), st.integers(-5, 5))
    params = {"dim": draw(_dim(shape)), "start": draw(st.integers(-5, 5)), "end": draw(ends)}
    params["step"] = draw(st.sampled_from([1, 1, 2, 3, 0, -1]))
    return _case("Slice", params, shape, draw)


@st.composite
def cut_case(draw, block: str) -> Case:
    """Sizes 1 to 8, rarely 63 to 70: Chunk into 0 to 9, Split by a size or sizes (adding up)."""
    little = draw(st.integers(0, 20))
    shape = draw(any_shape(range(1, 5), st.integers(1, 8))) if little else (None, draw(BIG))
    dim = draw(_dim(shape))
    if block == "Chunk":
        return _case(block, {"chunks": draw(st.integers(0, 9)), "dim": dim}, shape, draw)
    size = shape[dim] if -len(shape) <= dim < len(shape) else None
    cut = draw(st.one_of(st.integers(0, 9), st.lists(st.integers(0, 5), min_size=1, max_size=5)))
    if isinstance(size, int) and size > 1 and draw(st.booleans()):  # sizes adding up
        marks = draw(st.lists(st.integers(1, size - 1), min_size=1, max_size=6, unique=True))
        cut = [b - a for a, b in pairwise([0, *sorted(marks), size])]
    return _case(block, {"split_size_or_sections": cut, "dim": dim}, shape, draw)


@st.composite
def matmul_case(draw) -> Case:
    """a: N×...×M×K and b: N×...×K×P, leading sizes equal, 1 or other; ranks and K may differ."""
    lead = draw(st.lists(SIZE, max_size=2))
    m, k, p = draw(SIZE), draw(SIZE), draw(SIZE)
    a = (None, *lead, m, k)
    b_lead = [draw(st.sampled_from([d, 1, 2])) for d in lead][: draw(st.integers(0, len(lead)))]
    b = (None, *b_lead, draw(st.sampled_from([k, k, k, 3])), p)
    if draw(st.integers(0, 5)) == 0:
        a, b = draw(SHAPE), draw(SHAPE)
    kinds = draw(st.sampled_from([()] * 5 + [("float64", "float64"), ("float32", "float64")]))
    kinds = draw(st.sampled_from([kinds, kinds, ("int64", "int64"), ("bool", "bool")]))
    return _case("MatMul", {}, [a, b], draw, kinds)


@st.composite
def reduce_case(draw, block: str) -> Case:
    shape = draw(SHAPE)
    dims = st.one_of(_dim(shape), st.lists(_dim(shape), min_size=1, max_size=3))
    params = {"dim": draw(dims), "keepdim": draw(st.booleans())}
    return _case(block, params, shape, draw)


@st.composite
def scalar_case(draw, block: str) -> Case:
    value = draw(st.floats(-4, 4, allow_nan=False))
    return _case(block, {"factor" if block == "Scale" else "value": value}, draw(SHAPE), draw)


@st.composite
def pixel_case(draw, block: str) -> Case:
    r = draw(st.integers(1, 3))
    if block == "PixelShuffle":
        c, hw = draw(st.sampled_from([1, 2, 4, 8, 9])), st.integers(1, 3)
    else:
        c, hw = draw(st.integers(1, 3)), st.sampled_from([1, 2, 3, 4, 6])
    shape = (None, *draw(st.lists(SIZE, max_size=1)), c, draw(hw), draw(hw))
    if draw(st.integers(0, 4)) == 0:
        shape = draw(any_shape(range(1, 6), st.sampled_from([1, 2, 4, 6])))
    arg = "upscale_factor" if block == "PixelShuffle" else "downscale_factor"
    return _case(block, {arg: r}, shape, draw)


@st.composite
def channel_shuffle_case(draw) -> Case:
    shape = draw(any_shape(range(2, 6), st.sampled_from([1, 2, 3, 4, 6])))
    return _case("ChannelShuffle", {"groups": draw(st.integers(1, 4))}, shape, draw)


CASES = {
    "Reshape": reshape_case(),
    "Permute": permute_case(),
    "Transpose": one_dim_case("Transpose"),
    "Unflatten": unflatten_case(),
    "Squeeze": one_dim_case("Squeeze"),
    "Unsqueeze": one_dim_case("Unsqueeze"),
    "Select": one_dim_case("Select"),
    "Slice": slice_case(),
    "Split": cut_case("Split"),
    "Chunk": cut_case("Chunk"),
    "MatMul": matmul_case(),
    "Mean": reduce_case("Mean"),
    "Sum": reduce_case("Sum"),
    "Amax": reduce_case("Amax"),
    "Scale": scalar_case("Scale"),
    "AddScalar": scalar_case("AddScalar"),
    "PixelShuffle": pixel_case("PixelShuffle"),
    "PixelUnshuffle": pixel_case("PixelUnshuffle"),
    "ChannelShuffle": channel_shuffle_case(),
}


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """Refusals torch does not make, on purpose: acting on the batch dimension (a design keeps
    every sample separate); a Squeeze of a size other than 1 (torch leaves it: a no-op) and an
    empty Slice (size 0), both wiring mistakes; a Split or Chunk into 1 or over 64 pieces, or a
    Chunk into fewer than chunks; a MatMul of integers (torch multiplies them on the CPU only)."""
    message = exc.message
    return (
        "batch" in message
        or (case.block == "Squeeze" and "not 1" in message)
        or (case.block == "Slice" and "empty" in message)
        or (case.block in ("Split", "Chunk") and "would cut" in message)
        or (case.block == "Chunk" and case.params["chunks"] == 1 and "out of range" in message)
        or (case.block == "MatMul" and exc.code == "dtype")
    )


def test_tensor_rules_match_torch() -> None:
    tally = run_family(CASES, examples=900, deliberate=deliberate)
    assert_family_covered("tensors", CASES, tally)


REGRESSIONS = [
    # the issue's bad input: each an issue with a fix
    (Case("Permute", {"dims": [0, 1, 1]}, ((None, 3, 4),)), REJECT),
    (Case("Reshape", {"shape": [16, 64]}, ((None, 3, 32, 32),)), REJECT),
    (Case("Select", {"dim": 1, "index": 4}, ((None, 4, 2),)), REJECT),
    (Case("Select", {"dim": 1, "index": -1}, ((None, 4, 2),)), ACCEPT),  # the last time step
    (Case("Reshape", {"shape": [16, -1]}, ((None, 1024),)), ACCEPT),
    (Case("Permute", {"dims": [1, 0, 2]}, ((None, 3, 4),)), ACCEPT),  # the batch moves to 1
    (Case("Slice", {"dim": 1, "start": 1}, ((None, 4, 2),)), ACCEPT),  # x[:, 1:]
    (Case("Split", {"split_size_or_sections": 3}, ((None, 2, 5),)), ACCEPT),  # 3 and 2
    (Case("Chunk", {"chunks": 4}, ((None, 5),)), DELIBERATE),  # torch gives 3 pieces
    (Case("Mean", {"dim": 0}, ((None, 3),)), DELIBERATE),  # would reduce the batch
    (Case("Squeeze", {"dim": 1}, ((None, 3),)), DELIBERATE),  # not of size 1: a no-op
    (Case("Sum", {"dim": 1}, ((None, 3),), dtypes=("bool",)), ACCEPT),  # int64 out
    (Case("MatMul", {}, ((None, 2, 3), (None, 3, 4)), dtypes=("int64", "int64")), DELIBERATE),
    (Case("MatMul", {}, ((None, 2, 3), (None, 1, 3, 4))), ACCEPT),  # N×N×2×4
    (Case("PixelUnshuffle", {"downscale_factor": 2}, ((None, 2, 4),)), DELIBERATE),
]


@pytest.mark.parametrize(("case", "outcome"), REGRESSIONS, ids=lambda v: str(v))
def test_tensor_regressions(case: Case, outcome: str) -> None:
    assert check(case, deliberate) == outcome


def test_products_are_named_in_a_reshape_that_does_not_fit() -> None:
    x = _issue("Reshape", {"shape": [16, 64]}, (3, 32, 32))
    assert "1024" in x.message and "3072" in x.message and x.hint


def _issue(block: str, params: dict, shape: tuple):
    b = DesignBuilder("bad")
    b.output(b.add(block, b.input(shape), node_id="node", **params))
    (issue,) = validate(b.build()).errors
    assert issue.node == "node" and issue.hint
    return issue


@pytest.mark.parametrize(
    ("block", "params", "shape", "words"),
    [
        ("Permute", {"dims": [0, 2, 2]}, (3, 4), "twice"),
        ("Select", {"dim": 2, "index": 9}, (3, 4), "out of range"),
        ("Mean", {"dim": [0, 1]}, (3, 4), "batch"),
        ("Split", {"split_size_or_sections": [2, 3]}, (4,), "adds up to 5, not 4"),
    ],
)
def test_bad_input_is_an_issue_on_the_node_with_a_fix(block, params, shape, words) -> None:
    assert words in _issue(block, params, shape).message


def test_symbols_move_with_their_dimensions() -> None:
    def out(block, params, *dims):
        spec = REGISTRY.get(block)
        result = spec.infer(spec.resolve(params)[0], [TensorSpec.of(d) for d in dims])
        return [r.dims for r in result] if isinstance(result, list) else result.dims

    assert out("Transpose", {"dim0": 0, "dim1": 1}, ("N", "T", 8)) == ("T", "N", 8)
    assert out("Reshape", {"shape": [-1, 64]}, ("N", "T", 4, 16)) == ("N", "T", 64)
    assert out("Select", {"dim": 1, "index": -1}, ("N", "T", 8)) == ("N", 8)
    assert out("Slice", {"dim": 1, "start": 1}, ("N", "T", 8)) == ("N", "?", 8)
    assert out("MatMul", {}, ("N", 2, "T", 8), ("N", 2, 8, "T")) == ("N", 2, "T", "T")
    assert out("Mean", {"dim": 1}, ("N", "T", 8)) == ("N", 8)
    with pytest.raises(ShapeError, match="varies"):
        out("Select", {"dim": 1, "index": 2}, ("N", "T", 8))
    with pytest.raises(ShapeError, match="batch"):
        out("Reshape", {"shape": [-1]}, ("T", "N", 4))


def test_list_parameters_take_up_to_six_values() -> None:
    dims = REGISTRY.get("Permute").param_index["dims"]
    assert dims.coerce([0, 2, 3, 4, 5, 1]) == (0, 2, 3, 4, 5, 1)
    assert REGISTRY.get("Mean").param_index["dim"].coerce(2) == 2  # a lone int stays one
    for bad in ([0] * 7, [], [0, "a"], [True]):
        with pytest.raises(ParamError):
            dims.coerce(bad)
    with pytest.raises(ParamError, match="-1 twice"):
        REGISTRY.get("Reshape").param_index["shape"].coerce([-1, -1])


# -- end to end: validated, built, generated code equal to the live model, ONNX verified --------


def _image_design(dtype: str = "float32", without: str = ""):
    """Every single-input block in one chain: 8×6×6 and back, through all the reshaping."""
    b = DesignBuilder("plumbing")
    h = b.input((8, 6, 6))
    b.design.node("x")["params"]["dtype"] = dtype
    chain = [
        ("PixelUnshuffle", {"downscale_factor": 2}),  # 32×3×3
        ("ChannelShuffle", {"groups": 4}),
        ("PixelShuffle", {"upscale_factor": 2}),  # 8×6×6
        ("Permute", {"dims": [0, 2, 3, 1]}),  # 6×6×8
        ("Reshape", {"shape": [36, -1]}),  # 36×8
        ("Transpose", {"dim0": 1, "dim1": 2}),  # 8×36
        ("Unflatten", {"dim": 2, "sizes": [6, -1]}),  # 8×6×6
        ("Slice", {"dim": 1, "start": 1, "step": 2}),  # 4×6×6
        ("Select", {"dim": -1, "index": -1}),  # 4×6
        ("Unsqueeze", {"dim": 1}),  # 1×4×6
        ("Squeeze", {"dim": 1}),  # 4×6
        ("Scale", {"factor": 0.5}),
        ("AddScalar", {"value": 1.0}),
    ]
    for block, params in chain:
        h = h if block == without else b.add(block, h, **params)
    b.output(h)
    return b.build()


def _branch_design():
    """Split feeds a matrix product of its halves, one halved by Chunk; reductions follow."""
    b = DesignBuilder("products")
    first = b.add("Split", b.input((6, 8)), node_id="split", split_size_or_sections=4)
    b.add("Chunk", b.port("split", "out2"), node_id="chunk", chunks=2, dim=1)  # N×3×4 twice
    second = b.add("Transpose", b.port("chunk", "out2"), dim0=1, dim1=2)  # N×4×3
    product = b.add("MatMul", first, second)  # N×6×3
    b.output(b.add("Mean", product, dim=-1), node_id="mean_out")
    b.output(b.add("Sum", product, dim=[1, 2], keepdim=True), node_id="sum_out")
    b.output(b.add("Amax", product, dim=1), node_id="amax_out")
    return b.build()


def _sequence_design():
    """Sequences of any length T: the last step and the mean over the steps after the first."""
    b = DesignBuilder("sequence")
    h = b.add("Reshape", b.input(("T", 4, 4)), shape=[-1, 16])  # N×T×16
    h = b.add("Slice", h, dim=1, start=1)
    b.output(b.add("Select", h, dim=1, index=-1), node_id="last")
    b.output(b.add("Mean", h, dim=1), node_id="average")
    return b.build()


DESIGNS = {  # name: (design, input shapes, what its generated code says)
    "image": (_image_design, None, "x = torch.permute(x, dims=(0, 2, 3, 1))"),
    "branches": (_branch_design, None, "_, x3 = torch.chunk(x2, chunks=2, dim=1)"),
    "sequence": (_sequence_design, {"x": (1, 5, 4, 4)}, "x = reshape(x, shape=(-1, 16))"),
}


def test_the_designs_use_every_block() -> None:
    used = {
        d.node(n)["type"] for make, _, _ in DESIGNS.values() for d in [make()] for n in d.node_ids()
    }
    assert set(CASES) <= used


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_designs_run_generate_equal_code_and_export(name, tmp_path) -> None:
    make, shapes, line = DESIGNS[name]
    assert validate(make()).ok
    assert line in assert_equivalent(make(), input_shapes=shapes)  # reads as written by hand
    export_onnx(make(), tmp_path / f"{name}.onnx", input_shapes=shapes, dynamic=("batch",))


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_integer_and_boolean_tensors_go_through(dtype, tmp_path) -> None:
    """Every single-input block takes them; onnxruntime has no integer or boolean DepthToSpace,
    which PixelShuffle exports as (an onnx= check cannot see dtypes yet: ExportError says so)."""
    assert_equivalent(_image_design(dtype))
    export_onnx(_image_design(dtype, without="PixelShuffle"), tmp_path / "typed.onnx")
    with pytest.raises(ExportError, match="DepthToSpace"):
        export_onnx(_image_design(dtype), tmp_path / "shuffled.onnx")
