"""Reliability properties over random designs: what validation says green really builds, runs and
exports; what it rejects, torch rejects too. (Generated code == live model over the same random
designs: tests/test_codegen.py; undo/redo of random command sequences: tests/test_editor.py.)

CI draws a bounded number of designs (``DESIGNER_DESIGNS``, default 25; ONNX: ``DESIGNER_ONNX``,
default 6); the long mode sets them to thousands. Every bug found becomes a regression example.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import designs, invalid_designs

import designer
from designer import validate
from designer.core.fileformat import dumps, loads
from designer.interop.export import ExportError
from designer.live.layers import module_class
from designer.live.ops import run

N_DESIGNS = int(os.environ.get("DESIGNER_DESIGNS", "25"))
N_ONNX = int(os.environ.get("DESIGNER_ONNX", "6"))
BATCH = 2


def relaxed(n: int):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def concrete(shape) -> tuple:
    return tuple(BATCH if d is None else d for d in shape)


@relaxed(N_DESIGNS)
@given(designs())
def test_accepted_designs_build_run_and_match_inferred_shapes(design):
    report = validate(design)
    assert report.ok
    model = designer.build(design, device="cpu").eval()
    torch.manual_seed(0)
    inputs = model.example_inputs(batch=BATCH)
    with torch.no_grad():
        _, captured = model.forward_capture(*inputs)
    for node_id, info in report.nodes.items():
        if node_id not in captured or not info.out_shapes:
            continue
        value = captured[node_id]
        got = [tuple(v.shape) for v in (value if isinstance(value, (tuple, list)) else [value])]
        assert got[: len(info.out_shapes)] == [concrete(s) for s in info.out_shapes], node_id


@relaxed(N_DESIGNS)
@given(invalid_designs())
def test_rejected_designs_really_fail_in_torch(case):
    """No false alarms: a node validation rejects fails in torch, or torch's result would break
    the batch (its first dimension is not the batch size, e.g. Flatten from dim 0)."""
    design, _ = case
    report = validate(design)
    for issue in report.errors:
        if issue.code == "param" or "/" in (issue.node or ""):
            continue  # out-of-range values are refused by their spec; inner nodes by their block
        spec = design.spec(design.node(issue.node)["type"])
        values, errors = spec.resolve(design.node(issue.node)["params"])
        assert not errors
        wires = sorted(design.inputs_of(issue.node).items(), key=lambda kv: spec.port_index(kv[0]))
        shapes = [
            report.nodes[src].out_shapes[report.nodes[src].ports.index(port)]
            for _, (src, port) in wires
        ]
        assert torch_fails_or_breaks_the_batch(spec, values, shapes), str(issue)


def torch_fails_or_breaks_the_batch(spec, values, shapes) -> bool:
    """True when torch fails, or its result would break the batch: a first dimension that is not
    the batch size, weights whose shapes depend on the batch size, or samples that mix (e.g.
    LayerNorm over the batch dimension: changing sample 2 changes the output of sample 1)."""
    weights = set()
    for batch in (2, 3):
        concrete = [tuple(batch if d is None else d for d in s) for s in shapes]
        try:
            torch.manual_seed(0)
            out, module = run_one(spec, values, concrete)
            torch.manual_seed(0)
            tensors = [torch.randn(s) for s in concrete]
            for t in tensors:
                t[1:] += 1.0
            again = forward(spec, values, module, tensors)
        except Exception:
            return True
        if out.dim() == 0 or out.shape[0] != batch or not torch.allclose(out[0], again[0]):
            return True
        weights.add(tuple(tuple(p.shape) for p in module.parameters()) if module else ())
    return len(weights) > 1


def run_one(spec, values, in_shapes):
    """One block in torch on random inputs of the given shapes: (output, module or None)."""
    if spec.composite is not None:
        raise RuntimeError("composite")  # composites fail inside; checked through their nodes
    module = None
    if spec.functional is None:
        positional, keywords = spec.torch.args(values, [tuple(s) for s in in_shapes])
        module = module_class(spec.torch, values)(*positional, **keywords).eval()
    return forward(spec, values, module, [torch.randn(s) for s in in_shapes]), module


def forward(spec, values, module, tensors):
    with torch.no_grad():
        return run(spec.functional, values, tensors) if module is None else module(*tensors)


@relaxed(N_DESIGNS)
@given(designs())
def test_save_then_load_gives_the_identical_design(design):
    again = loads(dumps(design))
    assert again == design
    assert dumps(again) == dumps(design)


@relaxed(N_ONNX)
@given(design=designs(max_blocks=5))
def test_onnx_matches_torch(design, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    try:
        result = designer.export_onnx(design, path)
    except ExportError as exc:  # refused by name: the registry knows the exporter cannot
        assert not str(exc).startswith("torch.onnx.export failed"), str(exc)
        return
    assert result.checked and result.parity
    assert all(p.max_rel <= 1e-4 for p in result.parity)


HOSTILE = st.sampled_from(
    [
        'x"); import os #',
        "'''",
        '"""',
        "\\",
        "\n",
        "class",
        "def",
        "return",
        "None",
        "__init__",
        "__class__",
        "self",
        "forward",
        "torch",
        "nn",
        "F",
        "super",
        "1st layer",
        "",
        " ",
        "é🙂",
        "\u202e",
        "__import__('os').system('touch /tmp/designer_pwned')",
        "{{ 7*7 }}",
        "{% raw %}",
        "x.y",
        "a-b",
        "print",
        "len",
        "eval",
    ]
)


@relaxed(N_DESIGNS)
@given(designs(), st.lists(HOSTILE, min_size=1, max_size=6), HOSTILE)
def test_hostile_names_never_become_code(design, labels, doc):
    """Labels, the design name and block docs only reach generated code as escaped strings or
    sanitised identifiers; the file always compiles and running it executes nothing of theirs."""
    design.name = labels[0]
    for i, node_id in enumerate(design.node_ids()):
        design.node(node_id)["label"] = labels[i % len(labels)]
    for block in design.blocks.values():
        block.doc = doc
    source = designer.generate_code(design, class_name="Model")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert node.id.isidentifier() and node.id.isascii(), node.id
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"__import__", "eval", "exec", "print"}, node.func.id
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = {a.name for a in node.names} | {getattr(node, "module", None)}
            assert names <= {"torch", "torch.nn.functional", "nn", None}, names
    marker = Path("/tmp/designer_pwned")
    marker.unlink(missing_ok=True)
    exec(compile(source, "<generated>", "exec"), {"__name__": "generated"})
    assert not marker.exists()
