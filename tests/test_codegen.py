"""Generated code: equivalence with the live model, goldens, style, safety, templates, wheel."""

from __future__ import annotations

import ast
import difflib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from codegen_helpers import assert_equivalent, exec_source
from hypothesis import HealthCheck, given, settings
from strategies import designs

import designer
from designer import DesignBuilder, load, loads
from designer.codegen.writer import CodegenError, generate_code, ruff_bin
from designer.live.plan import PlanError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
CLASS_NAMES = {"unet": "UNet", "unet_bilinear": "UNet"}
SMALL = {"unet": (1, 3, 67, 61), "unet_bilinear": (1, 3, 64, 64)}  # odd sizes exercise padding
FUZZ = int(os.environ.get("DESIGNER_DESIGNS", "30"))


def example(name: str):
    design = load(EXAMPLES / f"{name}.json")
    inputs = design.nodes_of_type("Input")
    shapes = {inputs[0]: SMALL[name]} if name in SMALL else None
    return design, shapes


EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))
GOLDEN_NAMES = [n for n in EXAMPLE_NAMES if n != "unet_small"]  # unet's code at another width


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_matches_live_model(name):
    design, shapes = example(name)
    assert_equivalent(design, shapes)


@settings(
    max_examples=FUZZ,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(designs())
def test_random_design_matches_live_model(design):
    assert_equivalent(design)


def test_unet_file_reads_like_the_seed():
    source = generate_code(load(EXAMPLES / "unet.json"), class_name="UNet")
    namespace = exec_source(source)
    for cls in ("DoubleConv", "Down", "Up", "OutConv", "UNet"):
        assert isinstance(namespace[cls], type) and issubclass(namespace[cls], torch.nn.Module)
    assert sum(p.numel() for p in namespace["UNet"]().parameters()) == 31_037_698
    assert len(source.splitlines()) <= 130
    assert "mid_channels = mid_channels or out_channels" in source
    assert "self.double_conv = nn.Sequential(" in source
    assert "        if bilinear:\n            self.up = nn.Upsample(" in source
    assert "x1 = self.inc(x)" in source and "x = self.up1(x, x4)" in source
    imports = [line for line in source.splitlines() if line.startswith(("import", "from"))]
    assert imports == ["import torch", "import torch.nn.functional as F", "from torch import nn"]


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden(name):
    """``UPDATE_GOLDEN=1 pytest tests/test_codegen.py`` rewrites the golden files."""
    source = generate_code(load(EXAMPLES / f"{name}.json"), class_name=CLASS_NAMES.get(name))
    path = GOLDEN / f"{name}.py"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(source, encoding="utf-8")
    expected = path.read_text(encoding="utf-8") if path.exists() else ""
    if source != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), source.splitlines(True), str(path), "generated"
            )
        )
        pytest.fail(f"generated code differs from {path} (UPDATE_GOLDEN=1 to accept):\n{diff}")


def _ruff_check(source: str) -> subprocess.CompletedProcess:
    exe = ruff_bin()
    if exe is None:
        pytest.skip("ruff is not installed")
    rules = "E,F,W,I,B,UP,SIM,RUF"
    options = ["--select", rules, "--line-length", "100", "--target-version", "py310"]
    return subprocess.run(
        [exe, "check", "--isolated", *options, "--stdin-filename", "model.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )


def test_generated_code_of_the_examples_is_ruff_clean():
    for path in sorted(EXAMPLES.glob("*.json")):
        done = _ruff_check(generate_code(load(path)))
        assert done.returncode == 0, f"{path.name}: {done.stdout}{done.stderr}"


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(designs())
def test_generated_code_of_random_designs_is_ruff_clean(design):
    done = _ruff_check(generate_code(design))
    assert done.returncode == 0, done.stdout + done.stderr


def hostile_design():
    """Labels and names that would break naive code generation."""
    b = DesignBuilder('evil"""name\\')
    x = b.input((3, 8, 8), node_id="x", label='x"); import os #')
    h = b.add("Conv2d", x, node_id="a", label="class", out_channels=4, kernel_size=1, padding=0)
    h = b.add("ReLU", h, node_id="b", label="print")
    g = b.add("Conv2d", h, node_id="c", label="forward", out_channels=4, kernel_size=1, padding=0)
    k = b.add("Conv2d", h, node_id="d", label="forward", out_channels=4, kernel_size=1, padding=0)
    m = b.add("Add", g, k, node_id="e", label="training")
    n = b.add("Identity", m, node_id="f", label="1st layer \n eval")
    b.output(n, node_id="y", label="return")
    return b.build()


def test_user_text_cannot_inject_code():
    design = hostile_design()
    source = assert_equivalent(design)
    assert "import os" not in source
    for bad in ("self.class ", "self.forward =", "self.training =", "self.print ", "return ="):
        assert bad not in source
    assert _ruff_check(source).returncode == 0


def test_block_doc_and_names_are_escaped():
    text = (EXAMPLES / "two_branch.json").read_text()
    design = loads(text)
    design.name = "name'''\"\"\"\\n"
    source = generate_code(design, class_name="Net")
    exec_source(source)
    with pytest.raises(CodegenError, match="not a Python identifier"):
        generate_code(design, class_name="Net(); import os")


def test_invalid_design_raises_with_issues():
    b = DesignBuilder("bad")
    x = b.input((3, 4, 4))
    b.output(b.add("MaxPool2d", x, kernel_size=8))
    with pytest.raises(PlanError) as err:
        generate_code(b.build())
    assert "maxpool2d" in str(err.value).lower()


def test_templates_override(tmp_path):
    default = ROOT / "designer" / "codegen" / "templates" / "class.py.j2"
    (tmp_path / "class.py.j2").write_text(
        default.read_text().replace("super().__init__()", "super().__init__()  # custom"),
    )
    source = generate_code(load(EXAMPLES / "two_branch.json"), templates=tmp_path)
    assert "super().__init__()  # custom" in source
    exec_source(source)
    with pytest.raises(CodegenError, match="does not exist"):
        generate_code(load(EXAMPLES / "two_branch.json"), templates=tmp_path / "missing")
    (tmp_path / "class.py.j2").write_text("class {{ cls.name }}(:\n")
    with pytest.raises(CodegenError, match="invalid Python"):
        generate_code(load(EXAMPLES / "two_branch.json"), templates=tmp_path)


def test_every_registry_helper_is_defined_once_and_standalone():
    """Helpers live in designer.live.ops; generated files copy them, so each reads only torch, F
    and builtins, and the copy is the very function the live model runs."""
    import builtins

    from designer.blocks import REGISTRY
    from designer.codegen.helpers import helper_source
    from designer.live.ops import HELPERS

    helpers = {h for spec in REGISTRY if spec.functional for h in spec.functional.helpers}
    assert helpers <= set(HELPERS)
    for name in helpers:
        tree = ast.parse(helper_source(name))
        bound = {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
        bound |= {n.id for n in names if isinstance(n.ctx, ast.Store)}
        free = {n.id for n in names if isinstance(n.ctx, ast.Load)} - bound
        assert free <= {"torch", "F", "nn", *dir(builtins)}, (name, free)
        namespace = {"torch": torch, "F": torch.nn.functional}
        exec(compile(helper_source(name), name, "exec"), namespace)
        copy, live = namespace[name].__code__, HELPERS[name].__code__
        assert (copy.co_varnames, copy.co_names) == (live.co_varnames, live.co_names)
    assert not (ROOT / "designer" / "codegen" / "templates" / "helpers").exists()


def test_every_layer_class_is_defined_once_and_standalone():
    """Layer classes and their family functions live in designer.live.layers; generated files
    copy their source, so each reads only torch, nn, F, builtins and the family functions the
    plan copies beside it."""
    import builtins

    from designer.blocks import REGISTRY
    from designer.codegen.helpers import helper_source
    from designer.live.layers import CLASSES, FUNCTIONS, helpers_called

    named = {c for spec in REGISTRY if spec.torch for c in spec.torch.layers}
    assert named <= set(CLASSES), named - set(CLASSES)
    assert helpers_called("Attention") == ("causal_mask",)
    for name in [*CLASSES, *FUNCTIONS]:
        assert helper_source(name).isascii(), f"{name}: generated files stay ASCII (ruff RUF00x)"
        tree = ast.parse(helper_source(name))
        bound = {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
        bound |= {n.id for n in names if isinstance(n.ctx, ast.Store)} | {name}
        free = {n.id for n in names if isinstance(n.ctx, ast.Load)} - bound
        assert free <= {"torch", "F", "nn", *dir(builtins), *FUNCTIONS}, (name, free)
        namespace = {"torch": torch, "F": torch.nn.functional, "nn": torch.nn}
        exec(compile(helper_source(name), name, "exec"), namespace)
        assert namespace[name].__doc__ == {**CLASSES, **FUNCTIONS}[name].__doc__


def test_generated_model_compiles_with_fullgraph():
    design = load(EXAMPLES / "two_branch.json")
    shapes = {"inputs": (1, 16, 12, 12)}
    model = exec_source(generate_code(design, input_shapes=shapes))["TwoBranch"]().eval()
    x = torch.randn(shapes["inputs"])
    compiled = torch.compile(model, fullgraph=True, backend=os.environ.get("COMPILE_BACKEND"))
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-5)


def test_wheel_contains_templates(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 and "hatchling" in done.stderr:
        pytest.skip(f"cannot build a wheel here (no build backend): {done.stderr[-200:]}")
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for template in ("module.py.j2", "class.py.j2"):
        assert f"designer/codegen/templates/{template}" in names


def test_api_is_lazy_and_mirrors_the_cli():
    assert designer.generate_code is generate_code


def branches_design(named: bool):
    """Three parallel branches on one tensor, joined by a Concat (Inception-style)."""
    b = DesignBuilder("inception")
    x = b.input((4, 10, 10))
    outs = []
    for i, k in enumerate((1, 3, 5)):
        node = f"path{k}x{k}" if named else None
        h = b.add("Conv2d", x, node_id=node, out_channels=3, kernel_size=k, padding=k // 2)
        if i == 1:
            h = b.add("ReLU", h, node_id=f"{node}_relu" if named else None)
        outs.append(h)
    b.output(b.add("Concat", *outs, node_id="join"))
    return b.build()


@pytest.mark.parametrize(("named", "container"), [(True, "ModuleDict"), (False, "ModuleList")])
def test_parallel_branches_use_a_container(named, container):
    design = branches_design(named)
    source = assert_equivalent(design)
    assert f"self.branches = nn.{container}(" in source
    key = '"path3x3"' if named else "1"
    assert f"self.branches[{key}](x)" in source
    live = designer.build(design, "cpu")
    inner = "branches.path3x3.1" if named else "branches.1.1"
    assert live.plan.model.path_of("path3x3_relu" if named else "relu") == inner
    _, captured = live.forward_capture(*live.example_inputs())
    assert captured["join"].shape == (1, 9, 10, 10)


RESIZE = """{
  "format": "torch-designer", "version": 1, "name": "variants",
  "blocks": {"Resize": {
    "doc": "Upsample by a factor, or to 8x8 without one",
    "params": [{"name": "factor", "type": "float", "default": null, "optional": true}],
    "nodes": [
      {"id": "x", "type": "Input"},
      {"id": "up", "type": "Upsample", "params": {
        "scale_factor": {"expr": "factor"}, "size": {"expr": "None if factor else 8"}}},
      {"id": "y", "type": "Output"}],
    "edges": [{"from": "x.out", "to": "up.in"}, {"from": "up.out", "to": "y.in"}]}},
  "nodes": [
    {"id": "x", "type": "Input", "params": {"shape": [2, 4, 4]}},
    {"id": "a", "type": "Resize", "params": {"factor": 2.0}},
    {"id": "b", "type": "Resize"},
    {"id": "cat", "type": "Concat"},
    {"id": "y", "type": "Output"}],
  "edges": [{"from": "x.out", "to": "a.x"}, {"from": "x.out", "to": "b.x"},
            {"from": "a.y", "to": "cat.in1"}, {"from": "b.y", "to": "cat.in2"},
            {"from": "cat.out", "to": "y.in"}]
}"""


def test_instances_needing_different_code_get_their_own_class():
    source = assert_equivalent(loads(RESIZE))
    assert "class Resize(nn.Module):" in source and "class Resize_1(nn.Module):" in source
    assert "scale_factor=factor" in source


# -- names a design must not be able to shadow (issue 16) ----------------------------------------

SHADOWED = [
    *("max", "min", "int", "abs", "len", "range", "super", "self", "torch", "nn", "F"),
    *("x", "h", "x1", "pad_to_match", "Inner", "Outer", "Named", "match", "type", "_"),
    *("__class__", "__init__", "__width", "__debug__", "__builtins__"),
    *("forward", "training", "_modules", "state_dict", "to", "cuda", "eval", "parameters"),
]


def _chain(inp: str, nodes: list[dict], label: str | None, port: str) -> dict:
    """Input ``inp`` -> ``nodes`` -> Output ``out`` in a row, every node labelled ``label``; the
    blocks ``Inner`` and ``Outer`` read their input port ``port`` (their body Input's id)."""
    nodes = [{"id": inp, "type": "Input"}, *nodes, {"id": "out", "type": "Output"}]
    for node in nodes:
        node.update({"label": label} if label is not None else {})
    ports = [port if n["type"] in ("Inner", "Outer") else "in" for n in nodes]
    edges = [
        {"from": f"{a['id']}.out", "to": f"{b['id']}.{to}"}
        for a, b, to in zip(nodes, nodes[1:], ports[1:], strict=False)
    ]
    return {"nodes": nodes, "edges": edges}


def named_design(name: str, where: str):
    """A block ``Inner`` used by a block ``Outer``, both used by the model; ``name`` is a declared
    parameter of both, read next to calls of ``max``, ``int``... (``where="param"``), or the label
    of every node and the id of the blocks' Inputs (``where="label"``)."""
    p, label, inp = (name, None, "x") if where == "param" else ("width", name, name)
    params = [
        {"name": p, "type": "int", "default": 4, "min": 1, "max": 8},
        {"name": "extra", "type": "int", "default": None, "optional": True, "min": 1},
    ]
    conv = {"kernel_size": 1, "padding": 0, "stride": {"expr": f"int({p} > 100) + 1"}}
    inner = [
        {"id": "c", "type": "Conv2d", "params": {**conv, "out_channels": {"expr": f"max({p}, 2)"}}},
        {"id": "bn", "type": "BatchNorm2d", "when": f"{p} > 3"},
        {"id": "r", "type": "ReLU"},
        {
            "id": "d",
            "type": "Conv2d",
            "params": {**conv, "out_channels": {"expr": f"extra or {p}"}},
        },
    ]
    outer = [
        {"id": "i", "type": "Inner", "params": {p: {"expr": f"min({p} + 1, abs({p}))"}}},
        {"id": "e", "type": "Conv2d", "params": {"out_channels": {"expr": p}, "kernel_size": 1}},
    ]
    model = [
        {"id": "a", "type": "Outer", "params": {p: 3}},
        {"id": "b", "type": "Outer"},
        {"id": "f", "type": "Inner", "params": {p: 5, "extra": 2}},
    ]
    blocks = {
        "Inner": {"doc": "inner", "params": params, **_chain(inp, inner, label, inp)},
        "Outer": {"doc": "outer", "params": params[:1], **_chain(inp, outer, label, inp)},
    }
    body = _chain("x", model, label, inp)
    body["nodes"][0]["params"] = {"shape": [2, 6, 6]}
    data = {"format": "torch-designer", "version": 1, "name": "named", "blocks": blocks, **body}
    return loads(json.dumps(data))


@pytest.mark.parametrize("where", ["param", "label"])
@pytest.mark.parametrize("name", SHADOWED)
def test_names_that_would_shadow_generated_code(name, where):
    """Parameters and labels named like builtins, module names, dunders or nn.Module members:
    the generated file runs and matches the live model (strict state_dict, equal outputs)."""
    source = assert_equivalent(named_design(name, where))
    tree = ast.parse(source)
    for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        assert not {a.arg for a in fn.args.args} & {"super", "torch", "nn", "F", "max", "int"}
        assert not any(a.arg.startswith("__") for a in fn.args.args)


@settings(
    max_examples=FUZZ,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(designs(hostile=True))
def test_random_design_with_hostile_names_matches_live_model(design):
    assert_equivalent(design)
