"""Check a block's pure shape rule and parameter count against torch itself.

:func:`check` runs one :class:`Case` down both paths and asserts they agree:

* the registry's path, as the validator takes it: ``spec.resolve(params)``, then
  ``spec.infer(values, specs)`` on TensorSpecs of the case's shapes and dtypes (a
  :class:`ShapeError` is a rejection) and ``spec.count``. The block's other rule form (the
  classic shape rule, or the one derived from its tensor rule) must give the same shapes: the
  adapters between the two are checked on every case;
* torch's path, as the live builder takes it: ``module_class(spec.torch, values)(*pos, **kw)``
  from ``spec.torch.args(values, shapes)`` (or the functional op, run by ``designer.live.ops``),
  in eval mode, run on small real tensors of the case's dtypes; any exception while building or
  running is a rejection. When both accept, the output dtypes must agree too.

Our shapes keep the batch symbolic (``None``), so torch runs each case at batch 1 and at the case's
batch: a rule that accepts promises the block works for every batch size, so a failure at either is
a rejection (save a few declared refusals of a batch of one), and a dimension the rule leaves
``None`` must be one that changes with the batch.

:func:`run_family` draws cases for every block of a family with hypothesis and tallies outcomes, so
a family test can also assert that each block was seen accepting (and the family rejecting).
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designer.blocks import REGISTRY, BlockSpec
from designer.core.params import ParamError
from designer.core.shapes import Shape, ShapeError, format_shape
from designer.core.tensor import TensorSpec
from designer.live.layers import module_class
from designer.live.ops import run

CODES = ("kernel", "rank", "channels", "mismatch", "param", "dtype", "symbolic")  # ShapeError codes
EXAMPLES = 500  # hypothesis examples per family, at least (issue: "at least 500 combinations")
SCALE = int(os.environ.get("DESIGNER_SHAPE_SCALE", "1"))  # long mode: that many times the examples

ACCEPT, REJECT, DELIBERATE = "accept", "reject", "deliberate"
BATCH_ONE = "batch-one"  # accepted; torch refuses only a batch of one, which no rule can see


@dataclass(frozen=True)
class Case:
    """One block type with raw parameters and symbolic input shapes (batch ``None`` first), of
    dtypes ``dtypes`` (float32 where not given)."""

    block: str
    params: Mapping[str, Any] = field(default_factory=dict)
    shapes: tuple[Shape, ...] = ()
    batch: int = 10  # torch also runs at batch 1
    dtypes: tuple[str, ...] = ()

    def __str__(self) -> str:
        shapes = ", ".join("-" if s is None else format_shape(s, "x") for s in self.shapes)
        kinds = f" {list(self.dtypes)}" if self.dtypes else ""
        return f"{self.block}({dict(self.params)}) on [{shapes}]{kinds} batch {self.batch}"

    def dtype(self, i: int) -> str:
        return self.dtypes[i] if i < len(self.dtypes) else "float32"

    def specs(self) -> list[TensorSpec | None]:
        return [
            None if s is None else TensorSpec(tuple(s), self.dtype(i))
            for i, s in enumerate(self.shapes)
        ]


@dataclass(frozen=True)
class Verdict:
    """What one side made of a case: its output shapes and count, or why it refused."""

    accepted: bool
    shapes: tuple[Shape, ...] = ()
    count: int = 0
    error: str = ""
    exc: ShapeError | ParamError | None = None
    dtypes: tuple[str, ...] = ()


Deliberate = Callable[[Case, ShapeError | ParamError], bool]
"""Says whether a rejection that torch does not make is one our rule makes on purpose."""

BatchOne = Callable[[Case], bool]
"""Says whether torch may refuse a case for a batch of one only (statistics over the batch)."""


def family_of(spec: BlockSpec) -> str:
    """The file declaring a block: ``conv`` for ``designer/blocks/conv.py``, else ``library``."""
    if spec.composite is not None:
        return "library"
    return spec.declared_rule.__module__.rsplit(".", 1)[-1]


def family_blocks(family: str) -> set[str]:
    """Names of every registered block of one family."""
    return {spec.name for spec in REGISTRY if family_of(spec) == family}


def rule_verdict(spec: BlockSpec, case: Case) -> tuple[Verdict, dict[str, Any] | None]:
    """The registry's answer, with the resolved values (None when a parameter was refused)."""
    values, errors = spec.resolve(case.params)
    if errors:
        name, err = errors[0]
        assert err.message and err.hint, f"{case}: parameter error without message or hint"
        return Verdict(False, error=f"param {name}: {err.message}", exc=err), None
    try:
        out = spec.infer(values, case.specs())
    except ShapeError as exc:
        assert exc.code in CODES, f"{case}: ShapeError code {exc.code!r} is not one of {CODES}"
        assert exc.message and exc.hint, f"{case}: ShapeError {exc.message!r} needs a hint"
        assert exc.port is None or 0 <= exc.port < len(case.shapes), f"{case}: bad port"
        return Verdict(False, error=f"{exc.code}: {exc.message}", exc=exc), values
    specs = tuple(out) if isinstance(out, list) else (out,)  # Output's is the spec it returns
    shapes = tuple(s.shape for s in specs)
    if not case.dtypes:
        assert _shapes_by_shape_rule(spec, values, case) == shapes, f"{case}: the rules differ"
        if case.shapes:
            _check_renamed_batch(spec, values, case, shapes)
    count = spec.count(values, list(case.shapes))
    return Verdict(True, shapes, count, dtypes=tuple(s.dtype for s in specs)), values


def _check_renamed_batch(spec: BlockSpec, values: Mapping[str, Any], case: Case, shapes) -> None:
    """The batch named B rather than N: the same sizes, and B wherever the batch stays."""
    renamed = [
        None if s is None else TensorSpec.of("B" if d is None else d for d in s)
        for s in case.shapes
    ]
    out = spec.infer(values, renamed)
    specs = out if isinstance(out, list) else [out]
    assert tuple(s.shape for s in specs) == shapes, f"{case}: a renamed batch changes the sizes"
    for s in specs:
        assert s.shape[:1] != (None,) or s.symbol(0) == "B", f"{case}: the batch lost its name"


def _shapes_by_shape_rule(spec: BlockSpec, values: Mapping[str, Any], case: Case) -> tuple:
    """The output shapes by the block's shape rule (declared, or derived from a tensor rule)."""
    out = spec.shape(values, list(case.shapes))
    return tuple(out) if isinstance(out, list) else (out,)


def _concrete(shape: Shape | None, batch: int) -> tuple[int, ...] | None:
    """The sizes at ``batch``; None stays None (an unwired optional input)."""
    return None if shape is None else tuple(batch if d is None else d for d in shape)


def _run(spec: BlockSpec, values: Mapping[str, Any], case: Case, batch: int) -> tuple[Any, int]:
    """Build the block as the live builder does, run it on random inputs; output and count."""
    import torch

    tensors = [_tensor(_concrete(s, batch), case.dtype(i)) for i, s in enumerate(case.shapes)]
    if spec.torch is not None:
        pos, kw = spec.torch.args(values, list(case.shapes))
        module = module_class(spec.torch, values)(*pos, **kw).eval()
        return module(*tensors), sum(p.numel() for p in module.parameters())
    if spec.functional is not None:
        return run(spec.functional, values, tensors), 0
    if spec.name == "Input":  # the builder feeds a tensor of the declared sample shape
        return torch.zeros((batch, *values["shape"]), dtype=getattr(torch, values["dtype"])), 0
    if spec.name == "Output":  # the builder returns what is wired in
        return tensors[0], 0
    raise AssertionError(f"{spec.name}: no torch module, functional op or boundary role")


def _tensor(shape: tuple[int, ...] | None, dtype: str):
    """Random values of a dtype: normal floats, small integers, or a random mask (None for an
    unwired optional input, which the module is then called with)."""
    import torch

    if shape is None:
        return None
    if dtype == "bool":
        return torch.rand(shape) > 0.5
    if dtype.startswith("int"):
        return torch.randint(0, 8, shape, dtype=getattr(torch, dtype))
    return torch.randn(shape, dtype=getattr(torch, dtype))


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread: tiny tensors gain nothing from more, and on a busy machine the
    thread pool's hand-offs cost milliseconds per op."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def torch_verdict(spec: BlockSpec, values: Mapping[str, Any], case: Case, batch: int) -> Verdict:
    """Torch's answer at one batch size: the built callable run on small random tensors."""
    import torch

    try:
        with warnings.catch_warnings(), torch.no_grad(), one_thread():
            warnings.simplefilter("ignore")
            out, count = _run(spec, values, case, batch)
    except Exception as exc:  # any refusal by torch, at construction or in forward
        return Verdict(False, error=f"{type(exc).__name__}: {str(exc)[:300]}")
    outs = out if isinstance(out, (list, tuple)) else (out,)
    dtypes = tuple(str(o.dtype).removeprefix("torch.") for o in outs)
    return Verdict(True, tuple(tuple(o.shape) for o in outs), count, dtypes=dtypes)


def _same_shape(ours: Shape, first: tuple, second: tuple) -> bool:
    """``ours`` matches torch's shapes at two batch sizes; None marks a batch-dependent size."""
    if not len(ours) == len(first) == len(second):
        return False
    for d, a, b in zip(ours, first, second, strict=True):
        if (d is None and a == b) or (d is not None and not d == a == b):
            return False
    return True


def check(
    case: Case, deliberate: Deliberate | None = None, batch_one: BatchOne | None = None
) -> str:
    """Assert that the rule and torch agree on ``case``; returns the outcome.

    ``deliberate`` names the rejections our rule makes on purpose where torch accepts;
    ``batch_one`` the cases torch refuses for a batch of one only (batch statistics), which a rule
    that cannot see the batch size must accept.
    """
    spec = REGISTRY.get(case.block)
    rule, values = rule_verdict(spec, case)
    values = values if values is not None else {**spec.defaults(), **case.params}
    second = torch_verdict(spec, values, case, case.batch)
    first = torch_verdict(spec, values, case, 1)
    if not rule.accepted:
        if not (first.accepted and second.accepted):
            return REJECT
        if deliberate is not None and rule.exc is not None and deliberate(case, rule.exc):
            return DELIBERATE
        raise AssertionError(f"{case}: the rule rejects ({rule.error}) but torch accepts")
    outcome = ACCEPT
    if second.accepted and not first.accepted and batch_one is not None and batch_one(case):
        outcome, first = BATCH_ONE, torch_verdict(spec, values, case, case.batch + 1)
    for theirs in (first, second):
        if not theirs.accepted:
            raise AssertionError(
                f"{case}: the rule gives {[format_shape(s) for s in rule.shapes]} "
                f"but torch rejects: {theirs.error}"
            )
    assert len(rule.shapes) == len(second.shapes), f"{case}: output count differs"
    for ours, a, b in zip(rule.shapes, first.shapes, second.shapes, strict=True):
        assert _same_shape(ours, a, b), (
            f"{case}: the rule gives {format_shape(ours)}, torch gives {a} and {b} "
            f"at two batch sizes"
        )
    assert rule.count == second.count, f"{case}: count {rule.count}, torch has {second.count}"
    assert rule.dtypes == second.dtypes, f"{case}: dtypes {rule.dtypes}, torch's {second.dtypes}"
    return outcome


def run_family(
    cases: Mapping[str, st.SearchStrategy[Case]],
    examples: int = EXAMPLES,
    deliberate: Deliberate | None = None,
    batch_one: BatchOne | None = None,
) -> Counter:
    """Check ``examples`` drawn cases over every block in ``cases``; tally (block, outcome)."""
    tally: Counter = Counter()

    @settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.sampled_from(sorted(cases)).flatmap(lambda name: cases[name]))
    def agree(case: Case) -> None:
        tally[case.block, check(case, deliberate, batch_one)] += 1

    with one_thread():
        agree()
    return tally


def assert_family_covered(family: str, cases: Mapping[str, Any], tally: Counter) -> None:
    """Every block of the family has a strategy, was drawn, accepted, and the family rejected."""
    assert set(cases) == family_blocks(family), "strategies and registry disagree on the family"
    assert sum(tally.values()) >= EXAMPLES, f"only {sum(tally.values())} examples were drawn"
    for name in cases:
        assert tally[name, ACCEPT] + tally[name, BATCH_ONE] > 0, (
            f"{name}: no drawn case was accepted by both sides"
        )
    assert sum(n for (_, outcome), n in tally.items() if outcome == REJECT) > 0


# -- strategies shared by the family tests -------------------------------------------------------


def ints(n: int, lo: int, hi: int) -> st.SearchStrategy:
    """An int or an n-tuple, the two ways kernel_size and friends are given.

    Tuples of the wrong length are left out: the parameter spec refuses them before any rule runs,
    while torch accepts some (a 1-D convolution reads only the first stride) and not others.
    """
    return st.one_of(st.integers(lo, hi), st.tuples(*[st.integers(lo, hi)] * n))


def spatial_shape(rank: int, channels: int, size: st.SearchStrategy) -> st.SearchStrategy:
    """A batched shape ``(None, channels, *spatial)`` of ``rank`` dimensions in all."""
    return st.tuples(*[size] * (rank - 2)).map(lambda sp: (None, channels, *sp))


def any_shape(ranks: Sequence[int], size: st.SearchStrategy) -> st.SearchStrategy:
    """A batched shape of one of ``ranks`` dimensions with every other size from ``size``."""
    return st.sampled_from(list(ranks)).flatmap(
        lambda r: st.tuples(*[size] * (r - 1)).map(lambda rest: (None, *rest))
    )


BATCH = st.integers(10, 11)  # above every size drawn, so a batch never matches a size by chance
