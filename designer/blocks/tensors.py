"""Tensor plumbing: reshaping, reordering, picking, splitting, reducing and scaling tensors.

The rules read sizes and symbols together (``TensorSpec.dims``), so a symbolic size such as the
batch ``N`` or a sequence ``T`` keeps its name wherever the op moves it. The batch is the
dimension named ``N`` (else a symbolic dimension 0); an op that would merge it with other sizes,
pick from it or reduce it is refused, so that every sample stays separate.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest
from math import prod

from designer.core.forms import Functional, TorchModule
from designer.core.params import MAX_SIZE, Bool, Float, Int, Param, ParamError
from designer.core.registry import MAX_OUTPUTS, BlockSpec, register
from designer.core.rules import check_dtypes
from designer.core.shapes import ShapeError
from designer.core.tensor import BATCH, DTYPES, FLOATING, TensorSpec, format_spec

ANON = "?"  # a size that varies, which no symbol names
MAX_ITEMS = 6  # values of a list parameter: a permutation of a 6-D tensor
BIG = MAX_SIZE  # sizes, indices and steps
SIZES_FIX = "give positive sizes; one of them may be -1 (inferred from the others)"
SYM = "symbolic"  # the code of a refusal where a size varies
SEPARATE = "act on the dimensions of each sample (1 or later), so that samples stay separate"


@dataclass(frozen=True)
class IntList(Param):
    """An ``ints`` parameter of 1 to :data:`MAX_ITEMS` values (the core's ``ints`` takes 1 to 3);
    a lone int stays an int when ``scalar``, else it becomes a 1-tuple. Sizes (``min`` -1) are
    positive but for at most one -1."""

    scalar: bool = False
    most: int = MAX_ITEMS

    def coerce(self, value):
        item = Param(self.name, "int", 0, min=self.min, max=self.max)
        if not isinstance(value, (list, tuple)):
            return item.coerce(value) if self.scalar else (item.coerce(value),)
        if not 1 <= len(value) <= self.most:
            raise ParamError(f"{self.name} has {len(value)} values", f"give 1 to {self.most}")
        value = tuple(item.coerce(v) for v in value)
        if self.min == -1 and (0 in value or value.count(-1) > 1):
            raise ParamError(f"{self.name}={list(value)}: a size is 0, or -1 twice", SIZES_FIX)
        return value


def _out(x: TensorSpec, dims, dtype: str | None = None) -> TensorSpec:
    return TensorSpec.of(dims, dtype or x.dtype)


def _put(x: TensorSpec, axis: int, *new) -> TensorSpec:
    """``x`` with dimension ``axis`` replaced by the sizes ``new`` (none: removed)."""
    return _out(x, (*x.dims[:axis], *new, *x.dims[axis + 1 :]))


def _axes(x: TensorSpec, dims, name="dim", extra=0, block="", what="", fixed=False) -> list[int]:
    """``dims`` normalised for ``x`` (``extra``: places past its end); with ``block``, refuse to
    ``what`` the batch (N, else a symbolic dimension 0) or, if ``fixed``, a size that varies."""
    rank, axes, sizes = x.rank + extra, [], x.dims
    for dim in dims if isinstance(dims, tuple) else (dims,):
        if not -rank <= dim < rank:
            where = f"{name}={dim} is out of range for the {x.rank}-D input {format_spec(x)}"
            raise ShapeError(where, f"choose {name} between {-rank} and {rank - 1}", code="rank")
        if dim % rank in axes:
            twice = f"{name}={list(dims)} names dimension {dim % rank} twice"
            raise ShapeError(twice, "list each dimension once", code="param")
        axes.append(axis := dim % rank)
        if not block or not isinstance(sizes[axis], str):
            continue
        if sizes[axis] == BATCH or (axis == 0 and BATCH not in sizes):
            batch = f"{block} would {what} the batch dimension {axis} of {format_spec(x)}"
            raise ShapeError(batch, SEPARATE, code="rank")
        if fixed:
            varies = f"{block} needs a fixed size where {sizes[axis]} varies: {format_spec(x)}"
            raise ShapeError(varies, f"fix the size {sizes[axis]} in the Input's shape", code=SYM)
    return axes


def _need(ok: bool, block: str, x: TensorSpec, want: str, code="rank", port=0, fix="") -> None:
    """Refuse ``x`` unless ``ok``: ``block`` needs ``want`` (``fix``: the hint, if not that)."""
    if not ok:
        hint = fix or f"feed it {want}"
        raise ShapeError(f"{block} needs {want}: {format_spec(x)}", hint, port, code)


def _regroup(block: str, part: tuple, target: tuple, name: str) -> tuple:
    """The sizes ``target`` (one may be -1) for the dimensions ``part``."""
    ask = f"{block} to {name}={list(target)}"
    fixed = prod(d for d in part if isinstance(d, int))
    symbols = [d for d in part if isinstance(d, str)]
    known, wild = prod(t for t in target if t != -1), -1 in target
    have = "×".join(map(str, part)) + (f" = {fixed}" if len(part) > 1 and not symbols else "")
    if symbols and not wild:
        hint = f"put -1 in {name} where the size {symbols[0]} goes"
        raise ShapeError(f"{ask}: the input's {have} varies with {symbols[0]}", hint, code=SYM)
    if BATCH in symbols and (len(symbols) > 1 or fixed != known):
        hint = "reshape the sizes of each sample, keeping the batch dimension separate"
        raise ShapeError(f"{ask} would merge the batch with other sizes of {have}", hint, 0, "rank")
    if fixed % known if wild else fixed != known:
        need = f"a multiple of {known}" if wild else "×".join(map(str, target)) + f" = {known}"
        hint = f"give sizes that multiply to {fixed}" + " times the varying size" * bool(symbols)
        raise ShapeError(f"{ask} needs {need} elements, the input has {have}", hint, code="param")
    fill = fixed // known
    if symbols:
        fill = symbols[0] if len(symbols) == 1 and fill == 1 else ANON
    return tuple(fill if t == -1 else t for t in target)


def _reshape(p, specs):
    """Reshape each sample (the batch stays); one size may be -1: shape=[16, 64]."""
    (x,) = specs
    return _out(x, (x.dims[0], *_regroup("Reshape", x.dims[1:], p["shape"], "shape")))


def _unflatten(p, specs):
    """Split one dimension into several: dim=1, sizes=[4, 16] makes N×64 N×4×16."""
    (x,) = specs
    (axis,) = _axes(x, p["dim"], block="Unflatten", what="split")
    return _put(x, axis, *_regroup("Unflatten", (x.dims[axis],), p["sizes"], "sizes"))


def _permute(p, specs):
    """Reorder all dimensions (batch too): dims=[0, 2, 3, 1] makes N×C×H×W N×H×W×C."""
    (x,) = specs
    if len(p["dims"]) != x.rank:
        what = f"Permute needs {x.rank} dims for {format_spec(x)}, got {list(p['dims'])}"
        raise ShapeError(
            what, f"list every dimension once, e.g. {list(range(x.rank))[::-1]}", 0, "rank"
        )
    return _out(x, [x.dims[a] for a in _axes(x, p["dims"], "dims")])


def _transpose(p, specs):
    """Swap two dimensions: dim0=1, dim1=2 makes N×T×C N×C×T."""
    (x,) = specs
    (a,), (b,), dims = _axes(x, p["dim0"], "dim0"), _axes(x, p["dim1"], "dim1"), list(x.dims)
    dims[a], dims[b] = dims[b], dims[a]
    return _out(x, dims)


def _squeeze(p, specs):
    """Remove a dimension of size 1."""
    (x,) = specs
    (axis,) = _axes(x, p["dim"], block="Squeeze", what="remove", fixed=True)
    if x.dims[axis] != 1:
        what = (
            f"dimension {axis} of {format_spec(x)} is {x.dims[axis]}, not 1 (torch would keep it)"
        )
        raise ShapeError(what, "set dim to a dimension of size 1, or remove this block", 0, "param")
    return _put(x, axis)


def _unsqueeze(p, specs):
    """Insert a dimension of size 1 at dim."""
    (x,) = specs
    (axis,) = _axes(x, p["dim"], extra=1)
    return _out(x, (*x.dims[:axis], 1, *x.dims[axis:]))


def _select(p, specs):
    """Pick one index along a dimension, which goes: x[:, -1] is dim=1, index=-1."""
    (x,) = specs
    (axis,), index = _axes(x, p["dim"], block="Select", what="pick from"), p["index"]
    size = x.dims[axis]
    if isinstance(size, str) and index not in (0, -1):
        what = f"index {index} may be out of range where the size {size} varies: {format_spec(x)}"
        hint = "pick the first (0) or the last (-1) element, or fix the size in the Input's shape"
        raise ShapeError(what, hint, code=SYM)
    if isinstance(size, int) and not -size <= index < size:
        what = f"index {index} is out of range for dimension {axis} of {format_spec(x)}"
        raise ShapeError(what, f"choose an index between {-size} and {size - 1}", code="param")
    return _put(x, axis)


def _slice(p, specs):
    """Keep start:end:step along a dimension: x[:, 1:] is dim=1, start=1."""
    (x,) = specs
    (axis,) = _axes(x, p["dim"], block="Slice", what="slice")
    size, cut = x.dims[axis], slice(p["start"], p["end"], p["step"])
    if isinstance(size, str):  # all of it keeps the symbol; a part varies too
        return _put(x, axis, size if cut.indices(BIG) == (0, BIG, 1) else ANON)
    if not range(*cut.indices(size)):
        end = "" if p["end"] is None else p["end"]
        what = f"the slice {p['start']}:{end}:{p['step']} of dimension {axis} is empty"
        hint = f"choose start before end, within {-size}..{size}"
        raise ShapeError(f"{what}: {format_spec(x)}", hint, code="param")
    return _put(x, axis, len(range(*cut.indices(size))))


def _cut(block: str, doc: str):
    """The rule of Split or Chunk: the 2 to MAX_OUTPUTS pieces torch cuts (Chunk: ``chunks``)."""

    def rule(p, specs):
        (x,) = specs
        (axis,) = _axes(x, p["dim"], block=block, what="split", fixed=True)
        size, chunks = x.dims[axis], p.get("chunks", 0)
        pieces = _pieces(size, -(-size // chunks) if chunks else p["split_size_or_sections"])
        if sum(pieces) != size:
            where = f"split_size_or_sections={list(pieces)} adds up to {sum(pieces)}, not {size}"
            hint = f"give sizes adding up to {size}, or one size for equal pieces"
            raise ShapeError(f"{where}: dimension {axis} of {format_spec(x)}", hint, code="param")
        if len(pieces) == (chunks or len(pieces)) and 1 < len(pieces) <= MAX_OUTPUTS:
            return [_put(x, axis, piece) for piece in pieces]
        what = f"{block} would cut dimension {axis} of {format_spec(x)} into {len(pieces)} pieces"
        what += f" {list(pieces)}" + (f", not chunks={chunks}" if chunks else "")
        raise ShapeError(what, _cut_fix(size, chunks), code="param")

    rule.__doc__ = doc
    return rule


def _pieces(size: int, cut) -> tuple[int, ...]:
    """The sizes torch.split cuts ``size`` into: ``cut`` as listed, or equal (the last smaller)."""
    return (
        cut if isinstance(cut, tuple) else (cut,) * (size // cut) + (size % cut,) * (size % cut > 0)
    )


def _cut_fix(size: int, chunks: int) -> str:
    if size < 2:
        return "choose a dimension of size 2 or more"
    if chunks:
        return f"choose chunks that divide {size} (torch.chunk gives fewer pieces otherwise)"
    least = -(-size // MAX_OUTPUTS)
    return (
        f"give a size from {least} to {size - 1}, or 2 to {MAX_OUTPUTS} sizes adding up to {size}"
    )


def _split_count(p) -> int:
    """The outputs a Split's parameters predict: one per size listed (two for a single size,
    until the input's size is known)."""
    cut = p["split_size_or_sections"]
    return len(cut) if isinstance(cut, tuple) else 2


def _chunk_count(p) -> int:
    return p["chunks"]


def _matmul(p, specs):
    """Matrix product a @ b over the last two dimensions; leading dimensions broadcast."""
    a, b = specs
    check_dtypes("MatMul", specs, FLOATING)
    if a.dtype != b.dtype:
        what = f"MatMul multiplies tensors of one dtype: a is {a.dtype}, b is {b.dtype}"
        raise ShapeError(what, "feed a and b the same floating-point dtype", 1, "dtype")
    for port, s in enumerate(specs):
        _need(s.rank > 1, "MatMul", s, "matrices (2-D or more; 1-D is the batch alone)", port=port)
    if a.dims[-1] != b.dims[-2] or a.dims[-1] == ANON:
        what = f"MatMul contracts a's last dimension with b's second to last: {format_spec(a)}"
        hint = "make them equal (Transpose b if it holds its features last)"
        raise ShapeError(f"{what} @ {format_spec(b)}", hint, 1, "mismatch")
    lead = []
    for i, j in zip_longest(reversed(a.dims[:-2]), reversed(b.dims[:-2]), fillvalue=1):
        if not ((i == j and i != ANON) or 1 in (i, j)):
            what = f"MatMul's leading dimensions do not broadcast: {i} against {j}"
            hint = "give a and b equal leading dimensions (or 1 where one should broadcast)"
            raise ShapeError(what, hint, 1, "mismatch")
        lead.insert(0, j if i == 1 else i)
    return _out(a, (*lead, a.dims[-2], b.dims[-1]))


def _reduce(block: str, dtypes: tuple):
    def rule(p, specs):
        (x,) = specs
        check_dtypes(block, specs, dtypes)
        axes = _axes(x, p["dim"], block=block, what="reduce")
        out = [1 if i in axes else d for i, d in enumerate(x.dims) if p["keepdim"] or i not in axes]
        return _out(x, out, "int64" if block == "Sum" and x.dtype not in FLOATING else x.dtype)

    return rule


def _scalar(p, specs):
    """An element-wise op with a float constant: integers and booleans become float32."""
    (x,) = specs
    return x if x.dtype in FLOATING else x.with_dtype("float32")


def _pixel(block: str, up: bool):
    def rule(p, specs):
        (x,) = specs
        r = p[arg := "upscale_factor" if up else "downscale_factor"]
        _need(x.rank > 2, block, x, "channels, height and width: an N×C×H×W tensor")
        if r == 1:
            return x
        _axes(x, (-3, -2, -1), block=block, what="rearrange", fixed=True)
        c, h, w = x.dims[-3:]
        fits = c % (r * r) == 0 if up else h % r == w % r == 0
        want = f"channels divisible by {r * r}" if up else f"height and width divisible by {r}"
        fix = f"choose the {arg} to fit, or resize the input"
        _need(fits, block, x, want, "channels" if up else "kernel", fix=fix)
        out = (c // (r * r), h * r, w * r) if up else (c * r * r, h // r, w // r)
        return _out(x, (*x.dims[:-3], *out))

    return rule


def _channel_shuffle(p, specs):
    """Interleave the channels of groups (ShuffleNet)."""
    (x,) = specs
    _need(x.rank > 2, block := "ChannelShuffle", x, "channels and one more dimension: N×C×...")
    if p["groups"] > 1:
        _axes(x, 1, block=block, what="shuffle", fixed=True)
        fix = "choose groups that divides the channel count"
        want = f"channels divisible by groups={p['groups']}"
        _need(x.dims[1] % p["groups"] == 0, block, x, want, "channels", fix=fix)
    return x


def _matmul_macs(p, ins, outs) -> int:
    return prod(d for d in outs[0][1:] if d is not None) * (ins[0][-1] or 1)


def _block(name: str, rule, form, *params: Param, doc: str = "", **kw) -> None:
    """Register a block of the Tensor category (its doc: ``doc``, else its rule's docstring)."""
    how = {"torch" if isinstance(form, TorchModule) else "functional": form}
    doc = doc or rule.__doc__
    register(BlockSpec(name, "Tensor", doc, params=params, tensor_rule=rule, **how, **kw))


def _call(target: str, *keywords: str) -> Functional:
    return Functional(target, keywords=keywords)


def _int(name: str, default, doc: str, lo: int = -7, hi: int = 6, **kw) -> Param:
    return Int(name, default, doc, min=lo, max=hi, **kw)


def _ints(name: str, default, doc: str, lo: int, hi: int, scalar=False, most=MAX_ITEMS) -> IntList:
    return IntList(name, "ints", default, doc, min=lo, max=hi, scalar=scalar, most=most)


SIZES = "Sizes; one may be -1 (inferred)."
DIM = _int("dim", 1, "The dimension (negative counts from the end).")
PAIR = _int("dim0", 1, "A dimension."), _int("dim1", 2, "The other.")
PICK = DIM, _int("index", -1, "The index (negative counts from the end).", -BIG, BIG)
CUT = (
    _int("start", 0, "First index (negative counts from the end).", -BIG, BIG),
    _int("end", None, "Index to stop before; empty: the end.", -BIG, BIG, optional=True),
    _int("step", 1, "Keep every step-th element.", 1, BIG),
)
SECTIONS = "Size of each piece (the last may be smaller), or every piece's size."
SPLIT = (
    _ints("split_size_or_sections", 1, SECTIONS, 1, BIG, scalar=True, most=MAX_OUTPUTS),
    _int("dim", -1, "The dimension to cut."),
)
CHUNK = _int("chunks", 2, "How many pieces (where torch gives fewer: refused).", 2, MAX_OUTPUTS)
CHUNK = CHUNK, SPLIT[1]
REDUCE = (
    _ints("dim", 1, "Dimensions to reduce.", -7, 6, scalar=True),
    Bool("keepdim", False, "Keep each reduced dimension, as size 1."),
)
REDUCTIONS = (
    ("Mean", FLOATING, "Mean over the dimensions in dim (not the batch)."),
    ("Sum", DTYPES, "Sum over the dimensions in dim (not the batch); integers sum to int64."),
    ("Amax", DTYPES, "Maximum over the dimensions in dim (not the batch)."),
)
PIXELS = (
    ("PixelShuffle", "upscale_factor", "Trade channels for resolution: C·r²×H×W to C×rH×rW."),
    ("PixelUnshuffle", "downscale_factor", "Trade resolution for channels: C×rH×rW to C·r²×H×W."),
)
PERMUTATION = _ints("dims", (0, 2, 1), "Every dimension once, in its new order.", -7, 6)
PIECES = {"outputs": ("out1", "out2")}  # until the input's size is known
SPLIT_DOC = "Cut a dimension into pieces of a size (the last smaller) or of listed sizes: out1..."
CHUNK_DOC = "Cut a dimension into chunks equal pieces (the last smaller): out1, out2..."

_block("Reshape", _reshape, _call("reshape", "shape"), _ints("shape", (-1,), SIZES, -1, BIG))
_block("Permute", _permute, _call("torch.permute", "dims"), PERMUTATION)
_block("Transpose", _transpose, _call("torch.transpose", "dim0", "dim1"), *PAIR)
_form = _call("torch.unflatten", "dim", "sizes")
_block("Unflatten", _unflatten, _form, DIM, _ints("sizes", (-1, 1), SIZES, -1, BIG))
_block("Squeeze", _squeeze, _call("torch.squeeze", "dim"), DIM)
_block("Unsqueeze", _unsqueeze, _call("torch.unsqueeze", "dim"), DIM)
_block("Select", _select, _call("torch.select", "dim", "index"), *PICK)
_block("Slice", _slice, _call("slice_dim", "dim", "start", "end", "step"), DIM, *CUT)
_form = _call("torch.split", "split_size_or_sections", "dim")
_block("Split", _cut("Split", SPLIT_DOC), _form, *SPLIT, output_count=_split_count, **PIECES)
_form, _count = _call("torch.chunk", "chunks", "dim"), _chunk_count
_block("Chunk", _cut("Chunk", CHUNK_DOC), _form, *CHUNK, output_count=_count, **PIECES)
_block("MatMul", _matmul, _call("torch.matmul"), inputs=("a", "b"), macs=_matmul_macs)
for _name, _dtypes, _doc in REDUCTIONS:
    _form = _call(f"torch.{_name.lower()}", "dim", "keepdim")
    _block(_name, _reduce(_name, _dtypes), _form, *REDUCE, doc=_doc)
_scale, _add = Float("factor", 1.0, "The factor."), Float("value", 0.0, "The value added.")
_block("Scale", _scalar, _call("scale", "factor"), _scale, doc="Multiply by a constant factor.")
_block("AddScalar", _scalar, _call("add_scalar", "value"), _add, doc="Add a constant value.")
for _name, _arg, _doc in PIXELS:
    _form = TorchModule(_name, lambda p, s, arg=_arg: ((p[arg],), {}))
    _factor = _int(_arg, 2, "The factor r.", 1, 64)
    _block(_name, _pixel(_name, _arg == "upscale_factor"), _form, _factor, doc=_doc)
_groups = _int("groups", 2, "Groups the channels are split into.", 1, 65536)
_form = TorchModule("ChannelShuffle", lambda p, s: ((p["groups"],), {}))
_block("ChannelShuffle", _channel_shuffle, _form, _groups)
