"""Element types against torch: the blocks of every family fed float32, int64 and bool tensors.

Whatever the validator lets through, torch must run with the same output shapes and dtypes. A
refusal that torch would not make is allowed when it is a dtype refusal: the classic shape rules
take floating-point tensors unless their block says otherwise (Identity and Flatten take any).
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designer.core.params import ParamError
from designer.core.shapes import ShapeError

from .torch_check import ACCEPT, BATCH_ONE, DELIBERATE, EXAMPLES, SCALE, Case, check, one_thread

FAMILIES = (
    "activation",
    "conv",
    "embedding",
    "io",
    "linear",
    "merge",
    "norm",
    "pool",
    "recurrent",
    "regularization",
    "resize",
)
DTYPES = st.sampled_from(["float32", "int64", "bool"])
# blocks that take integer or boolean tensors: every dtype, or token ids (Embedding)
ANY_DTYPE = {
    "Identity",
    "Flatten",
    "Input",
    "Output",
    "Embedding",
    "ExpandBatch",
    "EmbeddingLookup",
}


def _family(name: str):
    return importlib.import_module(f"{__package__}.test_{name}")


def _with_dtypes(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Cases of ``strategy`` with a random dtype per input (an Input: its dtype parameter)."""

    def typed(pair: tuple[Case, list[str]]) -> Case:
        case, dtypes = pair
        if case.block == "Input":
            return replace(case, params={**case.params, "dtype": dtypes[0]})
        return replace(case, dtypes=tuple(dtypes[: len(case.shapes)]))

    return st.tuples(strategy, st.lists(DTYPES, min_size=3, max_size=3)).map(typed)


CASES = {
    name: _with_dtypes(strategy)
    for family in FAMILIES
    for name, strategy in _family(family).CASES.items()
}
FAMILY_DELIBERATE = {
    name: getattr(_family(family), "deliberate", None)
    for family in FAMILIES
    for name in _family(family).CASES
}
BATCH_ONE_CASES = {name: _family("norm").batch_one for name in _family("norm").CASES}


def deliberate(case: Case, exc: ShapeError | ParamError) -> bool:
    """A dtype refusal, or a refusal the block's family makes on purpose."""
    if isinstance(exc, ShapeError) and exc.code == "dtype":
        return True
    family = FAMILY_DELIBERATE.get(case.block)
    return family is not None and family(case, exc)


def batch_one(case: Case) -> bool:
    rule = BATCH_ONE_CASES.get(case.block)
    return rule is not None and rule(case)


def _float_only(case: Case) -> bool:
    """Every wired input (and an Input's dtype) is float32."""
    wired = [d for d, s in zip(case.dtypes, case.shapes, strict=False) if s is not None]
    return all(d == "float32" for d in wired) and case.params.get("dtype", "float32") == "float32"


def _agree(cases: dict, examples: int) -> Counter:
    """Check drawn cases; tally (block, all float32, outcome)."""
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
        tally[case.block, _float_only(case), check(case, deliberate, batch_one)] += 1

    with one_thread():
        agree()
    return tally


def test_dtypes_match_torch() -> None:
    tally = _agree(CASES, EXAMPLES)
    typed = {name for (name, plain, outcome) in tally if not plain and outcome == ACCEPT}
    assert typed <= ANY_DTYPE, "only these take integer and boolean tensors"
    assert any(outcome == DELIBERATE for (_, plain, outcome) in tally if not plain)
    assert any(outcome in (ACCEPT, BATCH_ONE) for (_, plain, outcome) in tally if plain)


def test_blocks_of_any_dtype_pass_it_on() -> None:
    tally = _agree({name: CASES[name] for name in ANY_DTYPE}, 400)
    typed = {name for (name, plain, outcome) in tally if not plain and outcome == ACCEPT}
    assert typed == ANY_DTYPE, "an int64 or bool tensor went through each of these"
