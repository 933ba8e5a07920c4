"""TorchModule / TorchFunction: any torch.nn layer or torch function, by name, made safe."""

from __future__ import annotations

import copy
import subprocess
import sys
import time

import pytest
import torch
from codegen_helpers import assert_equivalent
from torch import nn

import designer
from designer import DesignBuilder
from designer.blocks import REGISTRY, torch_call
from designer.codegen.writer import ruff_bin
from designer.core import infer as infer_module
from designer.core.infer import SHARED
from designer.core.params import FrozenKwargs, ParamError, frozen
from designer.core.paramtext import from_text, to_text

MODULE, FUNCTION = REGISTRY.get("TorchModule"), REGISTRY.get("TorchFunction")


def chain(*blocks, shape=(3, 8, 8)):
    b = DesignBuilder("calls")
    h = b.input(shape)
    for block, target, kwargs in blocks:
        h = b.add(block, h, target=target, kwargs=kwargs)
    b.output(h)
    return b.build()


def issues(design) -> list[str]:
    return [f"{i.message} | {i.hint}" for i in designer.validate(design).errors]


MIXED = (
    ("TorchModule", "torch.nn.GELU", {"approximate": "tanh"}),
    ("TorchFunction", "torch.flip", {"dims": [1]}),
    ("TorchFunction", "F.gelu", {}),
    ("TorchModule", "nn.Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3}),
    ("TorchModule", "torch.nn.PReLU", {"num_parameters": 4}),
    ("TorchFunction", "torch.nn.functional.softmax", {"dim": -1}),
)


def test_specs_and_counts_come_from_the_meta_device():
    report = designer.validate(chain(*MIXED))
    assert report.ok, report.errors
    conv = report.nodes["torchmodule_1"]
    assert conv.out_specs[0].dims == ("N", 4, 6, 6) and conv.params == 4 * 3 * 9 + 4
    assert report.total_params == 112 + 4


def test_dtype_is_kept_and_batch_dims_found():
    b = DesignBuilder("ids")
    x = b.input((7,))
    b.design.node(x.node)["params"]["dtype"] = "int64"
    h = b.add(
        "TorchModule",
        x,
        target="torch.nn.Embedding",
        kwargs={"num_embeddings": 10, "embedding_dim": 5},
    )
    h = b.add("TorchFunction", h, target="torch.transpose", kwargs={"dim0": 0, "dim1": 2})
    b.output(h)
    report = designer.validate(b.build())
    assert report.ok, report.errors
    out = report.nodes["torchfunction"].out_specs[0]
    assert out.dims == (5, 7, "N") and out.dtype == "float32"


def test_generated_code_writes_the_call_and_equals_the_live_model():
    source = assert_equivalent(chain(*MIXED))
    for text in (
        'nn.GELU(approximate="tanh")',
        "torch.flip(x, dims=(1,))",
        "F.gelu(x)",
        "nn.PReLU(num_parameters=4)",
        "F.softmax(x, dim=-1)",
    ):
        assert text in source
    exe = ruff_bin()
    if exe is not None:
        done = subprocess.run(
            [exe, "check", "--isolated", "--select", "E,F,W,I,B,UP,SIM,RUF", "--line-length",
             "100", "--stdin-filename", "model.py", "-"],
            input=source, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout


@pytest.mark.parametrize(
    ("block", "target", "expected"),
    [
        ("TorchModule", "os.system", "is not under torch.nn.<name>"),
        ("TorchModule", "torch.nn._reduction", "private"),
        ("TorchModule", "torch.nn.functional.gelu", "is not under torch.nn.<name>"),
        ("TorchModule", "torch.nn.init", "not an nn.Module class"),
        ("TorchModule", "torch.nn.LazyLinear", "lazy module"),
        ("TorchModule", "torch.nn.Gelu", "has no 'Gelu'"),
        ("TorchFunction", "torch.save", "not a tensor function"),
        ("TorchFunction", "torch.load", "not a tensor function"),
        ("TorchFunction", "torch.from_file", "not a tensor function"),
        ("TorchFunction", "torch.set_num_threads", "not a torch tensor operator"),
        ("TorchFunction", "torch.manual_seed", "not a torch tensor operator"),
        ("TorchFunction", "torch.hub.load", "is not under torch.<name>"),
        ("TorchFunction", "torch.Tensor", "not a tensor function"),
        ("TorchFunction", "torch._C", "private"),
        ("TorchFunction", "torch.nn.functional.torch", "not a tensor function"),
        ("TorchFunction", "F.has_torch_function", "not defined by torch.nn.functional"),
        ("TorchFunction", "builtins.eval", "is not under torch.<name>"),
    ],
)
def test_targets_outside_torch_are_refused_with_the_fix(block, target, expected):
    found = issues(chain((block, target, {})))
    assert len(found) == 1 and expected in found[0] and "change the target" in found[0]


def test_bad_names_and_values_are_param_errors():
    for bad in ("torch.nn.GELU; import os", "torch..nn", "x" * 200, 3):
        with pytest.raises(ParamError):
            MODULE.param_index["target"].coerce(bad)
    kwargs = MODULE.param_index["kwargs"]
    for bad in ({"a b": 1}, {"x": object()}, {"x": float("nan")}, {"x": {"y": 1}}, {"x": [[[1]]]}):
        with pytest.raises(ParamError):
            kwargs.coerce(bad)
    assert kwargs.coerce({"dims": [1, 2], "s": "a", "n": None}) == {
        "dims": (1, 2),
        "s": "a",
        "n": None,
    }


def test_kwargs_text_round_trips_without_eval():
    param = FUNCTION.param_index["kwargs"]
    value = param.coerce({"dims": (1,), "approximate": "tanh", "bias": False, "eps": 1e-5})
    text = to_text(param, value)
    assert text == "dims=(1,), approximate='tanh', bias=False, eps=1e-05"
    assert param.coerce(from_text(param, text)) == value
    assert from_text(param, "") == {} if param.optional else True
    for hostile in ("__import__('os').system('x')", "a=1), g(b=2", "a=f()", "**d", "a=[1]*9", "1"):
        with pytest.raises(ParamError):
            from_text(param, hostile)
    assert from_text(FUNCTION.param_index["target"], " torch.flip ") == "torch.flip"


def test_a_failing_call_is_an_issue_with_torchs_message():
    found = issues(chain(("TorchModule", "torch.nn.GELU", {"approximate": 3})))
    assert len(found) == 1 and "torch.nn.GELU(approximate=3) fails" in found[0]
    found = issues(chain(("TorchFunction", "torch.flip", {"dims": (7,)})))
    assert len(found) == 1 and "out of range" in found[0]
    found = issues(chain(("TorchFunction", "torch.flatten", {"end_dim": 1})))
    assert len(found) == 1 and "mixes the batch" in found[0]
    found = issues(chain(("TorchFunction", "torch.split", {"split_size_or_sections": 1})))
    assert len(found) == 1 and "not one tensor" in found[0]


def test_a_warm_validation_runs_nothing_and_costs_like_a_registered_block():
    wrapped = chain(
        *[("TorchFunction", "torch.tanh", {})] * 25, *[("TorchModule", "nn.GELU", {})] * 25
    )
    b = DesignBuilder("plain")
    h = b.input((3, 8, 8))
    for i in range(50):
        h = b.add("Tanh" if i < 25 else "GELU", h)
    b.output(h)
    plain = b.build()
    times = {}
    for name, design in (("wrapped", wrapped), ("registered", plain)):
        SHARED.clear()
        torch_call._OUTCOMES.clear()
        start = time.perf_counter()
        designer.validate(design)
        cold = time.perf_counter() - start
        runs = len(torch_call._OUTCOMES)
        SHARED.clear()  # the block's own cache alone keeps it warm
        start = time.perf_counter()
        for _ in range(20):
            designer.validate(design)
        times[name] = (cold, (time.perf_counter() - start) / 20)
        assert len(torch_call._OUTCOMES) == runs
    print(f"\n50 nodes, cold / warm validation: {times}")
    assert times["wrapped"][1] < 3 * times["registered"][1] + 1e-3


def test_onnx_export(tmp_path):
    pytest.importorskip("onnx")
    from designer.interop.export import export_onnx

    design = chain(*MIXED[:3], ("TorchModule", "nn.PReLU", {}))
    result = export_onnx(design, tmp_path / "calls.onnx", input_shapes={"x": (2, 3, 8, 8)})
    assert (tmp_path / "calls.onnx").exists() and result is not None


class Sines(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.act = nn.CELU(alpha=0.5)  # a layer no block covers

    def forward(self, x):
        return torch.sin(self.act(self.conv(x))) + nn.functional.hardtanh(x, min_val=-0.5)


def test_the_importer_keeps_unknown_layers_and_calls_as_wrappers():
    from designer.interop.importer import import_torch

    model = Sines().eval()
    x = torch.randn(2, 3, 8, 8)
    result = import_torch(model, x)
    assert designer.validate(result.design).ok
    kept = {(o.path, o.op, o.reason) for o in result.opaque}
    assert ("act", "nn.CELU", "kept as an opaque call") in kept
    assert ("", "torch.sin", "kept as an opaque call") in kept
    types = [result.design.node(n)["type"] for n in result.design.node_ids()]
    assert "TorchModule" in types and "TorchFunction" in types
    live = designer.build(result.design, "cpu")
    live.load_state_dict(result.state_dict, strict=True)
    live.eval()
    with torch.no_grad():
        assert torch.allclose(live(x), model(x), atol=1e-6)


def test_validating_imports_no_torch_until_a_wrapper_is_validated():
    code = (
        "import sys, designer\n"
        "from designer import DesignBuilder\n"
        "b = DesignBuilder('t'); b.output(b.add('GELU', b.input((3,))))\n"
        "designer.validate(b.build())\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_wrapper_nodes_survive_save_and_load_byte_for_byte():
    b = DesignBuilder("wrapped")
    x = b.input((3, 8, 8))
    h = b.add("TorchFunction", x, target="torch.flip", kwargs={"dims": (1, 2)})
    b.output(b.add("TorchModule", h, target="torch.nn.GELU", kwargs={"approximate": "tanh"}))
    text = designer.core.fileformat.dumps(b.build())
    again = designer.loads(text)
    assert designer.core.fileformat.dumps(again) == text and designer.validate(again).ok


def test_keyword_arguments_are_frozen_once_when_the_node_is_added(monkeypatch):
    design = chain(("TorchFunction", "torch.flip", {"dims": [1]}))
    node = next(n for n in design.node_ids() if design.node(n)["type"] == "TorchFunction")
    kwargs = design.node(node)["params"]["kwargs"]
    assert isinstance(kwargs, FrozenKwargs) and kwargs == {"dims": (1,)}
    with pytest.raises(TypeError, match="do not change"):
        kwargs["dims"] = (2,)
    again = designer.loads(designer.core.fileformat.dumps(design))
    assert again.node(node)["params"] == design.node(node)["params"]
    assert designer.validate(design).ok

    def refreeze(value):  # a warm validation keys the shared memo with the value as it is
        raise AssertionError(f"froze {value!r} again")

    monkeypatch.setattr(infer_module, "freeze", refreeze)
    assert designer.validate(design).ok and designer.validate(again).ok


def test_frozen_leaves_other_values_and_expressions_as_they_are():
    assert frozen([3, 3]) == [3, 3] and type(frozen([3, 3])) is list
    expr = {"expr": "out_channels * 2"}
    assert frozen(expr) is expr
    held = frozen({"dims": [0, [1, 2]], "approximate": "tanh"})
    assert held == {"dims": (0, (1, 2)), "approximate": "tanh"} and hash(held) == hash(held)
    assert frozen(held) is held


def test_keyword_values_of_different_types_never_share_a_result():
    """dim=1 validates, dim=1.0 fails in torch: the memo must not hand one the other's result."""
    assert issues(chain(("TorchFunction", "torch.flip", {"dims": (1,)}))) == []
    found = issues(chain(("TorchFunction", "torch.flip", {"dims": (1.0,)})))
    assert len(found) == 1 and "torch.flip" in found[0]
    assert issues(chain(("TorchFunction", "torch.flip", {"dims": (1,)}))) == []


def test_equal_keyword_arguments_are_one_object_and_memo_hits_compare_none(monkeypatch):
    """Nodes with equal kwargs hold one interned object, so a warm validation's memo compares
    them by identity: a wrapper block costs what a registered one does."""
    gelu = ("TorchModule", "torch.nn.GELU", {"approximate": "tanh"})
    design = chain(gelu, gelu, gelu)
    held = {
        id(design.node(n)["params"]["kwargs"])
        for n in design.node_ids()
        if design.node(n)["type"] == "TorchModule"
    }
    assert len(held) == 1
    assert frozen({"dim": 1}) is frozen({"dim": 1}) is copy.deepcopy(frozen({"dim": 1}))
    assert frozen({"dim": 1}) is not frozen({"dim": 1.0})
    assert frozen({"a": 1, "b": 2}) == frozen({"b": 2, "a": 1})  # order kept, still equal
    assert designer.validate(design).ok

    def compared(self, other):
        raise AssertionError("a memo hit compared keyword arguments item by item")

    monkeypatch.setattr(FrozenKwargs, "__eq__", compared)
    assert designer.validate(design).ok
