"""A placed design as a live model and as generated code: devices per part, moves at cut wires."""

from __future__ import annotations

import ast

import pytest
import torch
from codegen_helpers import assert_equivalent
from common import EXAMPLES

import designer
from designer import DesignBuilder
from designer.core import placement

SHAPES = {"x": (1, 3, 64, 64)}  # the example U-Net pads its convolutions: any multiple of 16


def split_unet(devices: list[str]):
    """The example U-Net split by memory into ``len(devices)`` stages."""
    design = designer.load(EXAMPLES / "unet.json")
    report = designer.validate(design, SHAPES)
    split = placement.auto_split(design, report, len(devices), "memory")
    placement.apply_split(design, split, devices)
    return design, report


def chain(tags: dict[str, str]):
    """x -> c1 -> r1 -> c2 -> c3 -> y, a chain the plan would make one Sequential."""
    b = DesignBuilder("chain")
    h = b.input((3, 8, 8), node_id="x")
    h = b.add("Conv2d", h, node_id="c1", out_channels=4, kernel_size=3, padding=1)
    h = b.add("ReLU", h, node_id="r1")
    h = b.add("Conv2d", h, node_id="c2", out_channels=5, kernel_size=3, padding=1)
    h = b.add("Conv2d", h, node_id="c3", out_channels=5, kernel_size=1)
    b.output(h, node_id="y")
    design = b.build()
    for node_id, tag in tags.items():
        design.node(node_id)["device"] = tag
    return design


def two_branch(tags: dict[str, str]):
    """x -> a: Conv2d(4) -> c: Concat(a, b) <- b: Conv2d(6) <- x."""
    b = DesignBuilder("branches")
    x = b.input((3, 8, 8), node_id="x")
    left = b.add("Conv2d", x, node_id="a", out_channels=4, kernel_size=3, padding=1)
    right = b.add("Conv2d", x, node_id="b", out_channels=6, kernel_size=3, padding=1)
    b.output(b.add("Concat", left, right, node_id="c"), node_id="y")
    design = b.build()
    for node_id, tag in tags.items():
        design.node(node_id)["device"] = tag
    return design


def parameter_devices(model) -> dict[str, str]:
    return {name: str(p.device) for name, p in model.named_parameters()}


# -- the live model -----------------------------------------------------------------------------


def test_a_cpu_meta_split_puts_every_parameter_on_its_tagged_device():
    design, _ = split_unet(["cpu", "meta"])
    model = designer.build(design, "cpu", SHAPES)
    expected = {}
    for node_id in design.node_ids():
        path = model.plan.model.path_of(node_id)
        if path is None:
            continue
        device = placement.device_of(design, placement.tag_of(design, node_id))
        for name, _ in model.get_submodule(path).named_parameters(prefix=path):
            expected[name] = device
    assert expected == parameter_devices(model)  # every parameter, each where its node is
    assert set(expected.values()) == {"cpu", "meta"}
    output = model(torch.randn(SHAPES["x"]))
    assert output.device.type == "meta" and output.shape == (1, 2, 64, 64)


def test_a_cpu_cpu_split_computes_what_the_unsplit_model_computes(monkeypatch):
    design, report = split_unet(["cpu", "cpu"])
    whole = designer.build(designer.load(EXAMPLES / "unet.json"), "cpu", SHAPES).eval()
    split = designer.build(design, "cpu", SHAPES).eval()
    split.load_state_dict(whole.state_dict(), strict=True)  # one set of weight names
    x = torch.randn(SHAPES["x"])
    moves = []
    original = torch.Tensor.to

    def counting(self, *args, **kwargs):
        moves.append(args)
        return original(self, *args, **kwargs)

    with torch.no_grad():
        expected = whole(x)
        monkeypatch.setattr(torch.Tensor, "to", counting)
        got = split(x)
        monkeypatch.setattr(torch.Tensor, "to", original)
    assert torch.equal(expected, got)
    cuts = placement.cut_wires(design, report)
    assert cuts and len(moves) == len(cuts) + 1  # each cut wire once, and the input on entry


def test_a_chain_cut_by_placement_keeps_its_weight_names_and_runs_in_slices():
    design = chain({"x": "cpu", "c1": "cpu", "r1": "cpu", "c2": "meta"})
    model = designer.build(design, "cpu")
    assert list(model.state_dict()) == list(designer.build(chain({}), "cpu").state_dict())
    assert parameter_devices(model) == {
        "c1_to_c3.0.weight": "cpu",
        "c1_to_c3.0.bias": "cpu",
        "c1_to_c3.2.weight": "meta",
        "c1_to_c3.2.bias": "meta",
        "c1_to_c3.3.weight": "cpu",  # untagged: on the build's device
        "c1_to_c3.3.bias": "cpu",
    }
    assert [s.part for s in model.plan.model.steps] == [(0, 2), (2, 3), (3, 4)]


def test_a_cut_chain_on_cpu_computes_what_the_whole_chain_computes():
    design = chain({"x": "0", "c1": "0", "r1": "0", "c2": "1", "c3": "1"})
    design.meta["stages"] = ["cpu", "cpu"]
    source = assert_equivalent(design)
    assert "x = self.c1_to_c3[:2](x)" in source
    assert "return self.c1_to_c3[2:](x.to(self.dev1))" in source or (
        "y = self.c1_to_c3[2:](x.to(self.dev1))" in source
    )
    whole = designer.build(chain({}), "cpu").eval()
    split = designer.build(design, "cpu").eval()
    split.load_state_dict(whole.state_dict(), strict=True)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(split(x), whole(x))
        _, captured = split.forward_capture(x)
    assert set(captured) == {"x", "c1", "r1", "c2", "c3", "y"}


@pytest.mark.parametrize(
    "tags",
    [
        {"x": "0", "a": "0", "b": "1", "c": "1", "y": "1"},  # branch a's output moves to c
        {"x": "0", "a": "1", "b": "0", "c": "0"},  # x moves into branch a and back out
    ],
)
def test_parallel_branches_on_two_devices_stay_one_container(tags):
    design = two_branch(tags)
    design.meta["stages"] = ["cpu", "cpu"]
    plain = two_branch({})
    live = designer.build(design, "cpu").eval()
    reference = designer.build(plain, "cpu").eval()
    live.load_state_dict(reference.state_dict(), strict=True)  # branches.a, branches.b
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(live(x), reference(x))
    (step,) = [s for s in live.plan.model.steps if s.parallel]
    moved = [m for pair in step.branch_moves for m in pair if m is not None]
    assert len(moved) == len(placement.cut_wires(design, designer.validate(design)))
    source = assert_equivalent(design)
    assert source.count(".to(self.dev") == len(moved) + 1  # and x on entry


def test_unplaced_builds_and_meta_builds_keep_every_part_on_one_device():
    design, _ = split_unet(["cpu", "meta"])
    whole = designer.build(design, "cpu", SHAPES, placed=False)
    assert set(parameter_devices(whole).values()) == {"cpu"}
    assert set(parameter_devices(designer.build(design, "meta", SHAPES)).values()) == {"meta"}


@pytest.mark.parametrize(
    ("tag", "stages", "words"),
    [
        ("2", ["cpu", "cpu"], "Conv2d `b`: stage 2 has no device"),
        ("gpu0", ["cpu"], "Conv2d `b`: 'gpu0' is not a device"),
    ],
)
def test_a_tag_without_a_device_is_refused_naming_the_node(tag, stages, words):
    design = two_branch({"a": "0", "b": tag})
    design.meta["stages"] = stages
    with pytest.raises(ValueError, match=words):
        designer.build(design, "cpu")


@pytest.mark.skipif(torch.cuda.device_count() > 7, reason="needs a machine without cuda:7")
def test_a_gpu_this_machine_lacks_is_refused_before_building():
    design = two_branch({"a": "cpu", "b": "cuda:7"})
    with pytest.raises(ValueError, match=r"node 'b' is placed on cuda:7: .*(not available|exist)"):
        designer.build(design, "cpu")


# -- the generated code -------------------------------------------------------------------------


def forward_of(source: str, class_name: str) -> ast.FunctionDef:
    module = ast.parse(source)
    cls = next(n for n in module.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    return next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "forward")


def moves_in(forward: ast.FunctionDef) -> tuple[list, set]:
    """Entry moves (variable, device attribute) and moves at calls (source node, consumer
    node, device attribute), reading the forward statement by statement (U-Net: attr == node)."""
    holds: dict[str, str] = {a.arg: a.arg for a in forward.args.args[1:]}
    entry, moved = [], set()
    for statement in forward.body:
        value = statement.value
        call = value if isinstance(value, ast.Call) else None
        if call is not None and call.func.attr == "to":  # x = x.to(self.dev0)
            entry.append((call.func.value.id, call.args[0].attr))
            continue
        consumer = call.func.attr if call is not None else None
        for arg in call.args if call is not None else ():
            if isinstance(arg, ast.Call):
                assert arg.func.attr == "to"
                moved.add((holds[arg.func.value.id], consumer, arg.args[0].attr))
        if isinstance(statement, ast.Assign):
            holds[statement.targets[0].id] = consumer
    return entry, moved


def test_generated_forward_moves_values_exactly_at_the_cut_wires():
    design, report = split_unet(["cuda:0", "cuda:1"])
    source = designer.generate_code(design, "UNet")
    assert 'def __init__(self, dev0="cuda:0", dev1="cuda:1"):' in source
    assert "self.inc = DoubleConv(3, out_channels=64).to(dev0)" in source
    forward = forward_of(source, "UNet")
    entry, moved = moves_in(forward)
    cuts = placement.cut_wires(design, report)
    assert entry == [("x", "dev0")]
    assert moved == {(c.src, c.dst, f"dev{c.target}") for c in cuts}
    assert ast.unparse(forward).count(".to(") == len(cuts) + 1  # nothing elsewhere


def test_the_generated_split_on_cpu_cpu_equals_the_live_model():
    design, _ = split_unet(["cpu", "cpu"])
    source = assert_equivalent(design, SHAPES)
    assert "self.dev1 = dev1" in source


def test_generated_code_with_functional_ops_and_untagged_parts():
    design = two_branch({"x": "0", "a": "0", "b": "cpu"})  # c untagged: on `device`
    design.meta["stages"] = ["cpu"]
    design.node("b")["label"] = "b_conv"  # (so that the Concat is no container)
    source = assert_equivalent(design)
    assert 'def __init__(self, dev0="cpu", dev1="cpu", device="cpu"):' in source
    assert "self.device = device" in source


def test_device_arguments_never_shadow_a_submodule():
    b = DesignBuilder("residual")
    x = b.input((3, 8, 8), node_id="x")
    conv = b.add("Conv2d", x, node_id="conv", out_channels=3, kernel_size=3, padding=1)
    b.output(b.add("Add", conv, x, node_id="add"), node_id="y")
    design = b.build()
    design.node("conv")["label"] = "dev0"
    for node_id, tag in {"x": "0", "conv": "0", "add": "1"}.items():
        design.node(node_id)["device"] = tag
    design.meta["stages"] = ["cpu", "cpu"]
    plan_model = designer.build(design, "cpu").plan.model
    assert list(plan_model.placement.devices.values()) == ["dev0", "dev1"]
    assert [s.attr for s in plan_model.slots] == ["dev0_1"]
    source = assert_equivalent(design)
    assert "self.dev0_1 = nn.Conv2d(3, 3, kernel_size=3, padding=1).to(dev0)" in source
