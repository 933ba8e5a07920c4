"""Incremental validation: an Analyzer that keeps its memo between edits reports exactly what a
fresh validation reports, whatever the edits (parameters, types, wires, nodes, Input overrides)."""

from __future__ import annotations

import copy

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import BREAKERS, designs, param_value

from designer import Analyzer, Design, validate
from designer.blocks import REGISTRY

KINDS = [
    *("param", "param", "param", "unset", "type", "unwire", "rewire", "wire", "remove", "dtype"),
    *("graph_unwire", "graph_copy", "graph_plain"),
]


def fingerprint(report) -> tuple:
    """Everything a report says but its timing and recompute count, in order."""
    return list(report.nodes.items()), report.issues, report.order


@st.composite
def edit(draw, design: Design) -> str:
    """Apply one random edit to ``design``; return what it was."""
    nodes = design.node_ids()
    node_id = draw(st.sampled_from(nodes))
    data = design.node(node_id)
    known = data["type"] in REGISTRY or data["type"] in design.blocks
    spec = design.spec(data["type"]) if known else None
    kind = draw(st.sampled_from(KINDS))
    if kind == "param" and spec is not None and spec.params:
        param = draw(st.sampled_from(spec.params))
        options = [param_value(param), st.sampled_from(BREAKERS.get(param.name, [None]))]
        data["params"][param.name] = draw(st.one_of(options))
    elif kind == "unset" and data["params"]:
        del data["params"][draw(st.sampled_from(sorted(data["params"])))]
    elif kind == "type":
        data["type"] = draw(st.sampled_from(["ReLU", "Identity", "Output", "Flux", "Sigmoid"]))
    elif kind in ("unwire", "rewire") and design.inputs_of(node_id):
        port = draw(st.sampled_from(sorted(design.inputs_of(node_id))))
        source = design.disconnect(node_id, port)
        if kind == "rewire":
            design.connect(*source, node_id, port)
    elif kind == "wire":
        src = draw(st.sampled_from(nodes))
        port = draw(st.sampled_from(["in", "in1", "in2", "x", "ref"]))
        design.connect(src, "out", node_id, port)
    elif kind == "remove" and len(nodes) > 2:
        design.remove_node(node_id)
    elif kind == "dtype" and data["type"] == "Input":
        data["params"]["dtype"] = draw(st.sampled_from(["float32", "int64", "bool"]))
    elif kind == "graph_unwire" and design.inputs_of(node_id):  # networkx's own methods
        port, (src, _) = next(iter(design.inputs_of(node_id).items()))
        design.graph.remove_edge(src, node_id, key=port)
    elif kind == "graph_copy":
        design.graph = copy.deepcopy(design.graph)
    elif kind == "graph_plain":  # a plain networkx graph, as the editor's history builds one
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(design.graph.nodes(data=True))
        graph.add_edges_from(design.graph.edges(keys=True, data=True))
        design.graph = graph
    return f"{kind} {node_id}"


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(designs(max_blocks=6), st.data())
def test_an_analyzer_reports_what_a_fresh_validation_does(design, data):
    analyzer = Analyzer()
    analyzer.run(design)
    for _ in range(data.draw(st.integers(1, 8))):
        what = data.draw(edit(design))
        overrides = data.draw(st.sampled_from([None, {"x": (2, 3, 12, 12)}, {"x": (1, 5, 16)}]))
        kept = analyzer.run(design, overrides)
        assert fingerprint(kept) == fingerprint(validate(design, overrides)), what


def test_a_parameter_edit_recomputes_only_what_it_changes():
    from common import EXAMPLES

    import designer

    design = designer.load(EXAMPLES / "resnet.json")
    analyzer = Analyzer()
    analyzer.run(design)
    design.node("res2_conv1")["params"]["bias"] = True  # same shapes: only the node itself
    assert analyzer.run(design).recomputed == 1
    design.node("image")["params"]["shape"] = [3, 32, 32]  # sizes change down to the pooling
    report = analyzer.run(design)
    assert report.recomputed == len(design) - len(["flatten", "fc", "logits"]) and report.ok
    assert fingerprint(report) == fingerprint(validate(design))
