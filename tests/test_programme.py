"""The rows' linear programme: conflicts are real positive cycles, and dropping them leaves limits
that some heights meet (checked against networkx's own negative-cycle test)."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from designer.core.programme import Programme

NODES = [f"n{i}" for i in range(8)]
limits = st.dictionaries(
    st.tuples(st.sampled_from(NODES), st.sampled_from(NODES)).filter(lambda ab: ab[0] != ab[1]),
    st.integers(-30, 30),
    max_size=24,
)


def programme(drawn: dict) -> Programme:
    lp = Programme(NODES)
    for (a, b), delta in drawn.items():
        lp.apart(a, b, delta, origin=(None, a, True))  # every limit a lane's, so it may drop
    return lp


def feasible(limits: dict) -> bool:
    """Whether some y meets y[b] - y[a] >= delta for all: no cycle of -delta below zero."""
    graph = nx.DiGraph()
    graph.add_nodes_from(NODES)
    graph.add_weighted_edges_from((a, b, -delta) for (a, b), delta in limits.items())
    return not nx.negative_edge_cycle(graph)


@settings(max_examples=300, deadline=None)
@given(limits)
def test_a_conflict_is_a_cycle_of_limits_summing_above_zero(drawn):
    lp = programme(drawn)
    cycle = lp.conflict()
    assert (cycle is None) == feasible(drawn)
    if cycle is not None:
        assert all(arc in drawn for arc in cycle)
        assert [b for _, b in cycle] == [a for a, _ in cycle[1:]] + [cycle[0][0]]  # closed
        assert sum(drawn[arc] for arc in cycle) > 0


@settings(max_examples=300, deadline=None)
@given(limits)
def test_dropping_conflicts_leaves_limits_some_heights_meet(drawn):
    lp = programme(drawn)
    lp.drop_conflicts()
    assert lp.conflict() is None and feasible(lp.limits)
    assert set(lp.limits) <= set(drawn)
    y = lp.solve()
    assert all(y[b] - y[a] >= delta for (a, b), delta in lp.limits.items())
