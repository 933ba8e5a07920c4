"""Placement survives import: device moves are wires, and each node keeps the device it ran on."""

from __future__ import annotations

import ast

import pytest
import torch
from test_placement_model import SHAPES, forward_of, moves_in, split_unet
from torch import nn

import designer
from designer.core import placement
from designer.interop.importer.devices import META_NOTE, moved_tensor
from designer.interop.importer.fallback import rebuild
from designer.interop.importer.tracer import trace


def devices_by_node(design) -> dict[str, str | None]:
    """Node id -> its device; the one Input and the one Output as ``input`` and ``output``."""
    renamed = {"Input": "input", "Output": "output"}
    return {
        renamed.get(design.node(n)["type"], n): placement.device_of(
            design, placement.tag_of(design, n)
        )
        for n in design.node_ids()
    }


def wires(design) -> set[tuple[str, str]]:
    report = designer.validate(design, SHAPES)
    return {(c.src, c.dst) for c in placement.cut_wires(design, report)}


@pytest.fixture(scope="module")
def split():
    """The U-Net split over cpu and meta, its live model, and that model imported."""
    design, _ = split_unet(["cpu", "meta"])
    model = designer.build(design, "cpu", SHAPES)
    return design, model, designer.import_torch(model, (torch.randn(SHAPES["x"]),))


def test_a_unet_split_over_cpu_and_meta_imports_with_each_nodes_device(split):
    design, _, result = split
    assert devices_by_node(result.design) == devices_by_node(design)
    assert set(devices_by_node(result.design).values()) == {"cpu", "meta"}
    assert wires(result.design) == wires(design)
    assert "the model's weights sit on cpu, meta" in result.report()


def test_tags_go_on_top_level_nodes_only(split):
    design = split[2].design
    for block in design.blocks.values():
        inner = block.body
        assert not any(placement.tag_of(inner, n) for n in inner.node_ids()), block.name


def test_the_imported_design_builds_each_parameter_where_the_model_had_it(split):
    _, _, result = split
    built = designer.build(result.design, "cpu", SHAPES)
    state = built.state_dict()
    assert set(state) == set(result.state_dict)
    assert {k: str(t.device) for k, t in state.items()} == {
        k: str(t.device) for k, t in result.state_dict.items()
    }
    built.load_state_dict(result.state_dict, strict=True)
    out = built(torch.randn(SHAPES["x"]))
    assert out.device.type == "meta" and out.shape == (1, 2, 64, 64)


def test_meta_weights_are_imported_by_name_with_a_note_instead_of_a_comparison(split):
    _, model, result = split
    assert META_NOTE in result.notes
    metas = {k for k, t in result.state_dict.items() if t.is_meta}
    assert metas and len(metas) == sum(t.is_meta for t in model.state_dict().values())


def test_the_imported_designs_code_moves_values_exactly_at_its_cut_wires(split):
    design = split[2].design
    source = designer.generate_code(design, "UNet")
    forward = forward_of(source, "UNet")
    entry, moved = moves_in(forward)
    tags = {placement.tag_of(design, n) for n in design.node_ids()}
    names = dict(zip(sorted(tags), ("dev0", "dev1"), strict=True))  # cpu, meta
    assert entry == [("x", names["cpu"])]
    assert moved == {(src, dst, names["meta"]) for src, dst in wires(design)}
    assert len(moved) == 5 and ast.unparse(forward).count(".to(") == len(moved) + 1


def test_a_model_on_one_device_gets_no_tags_and_its_moves_are_wires():
    design, _ = split_unet(["cpu", "cpu"])
    model = designer.build(design, "cpu", SHAPES).eval()
    x = torch.randn(SHAPES["x"])
    result = designer.import_torch(model, (x,))
    assert not any(placement.tag_of(result.design, n) for n in result.design.node_ids())
    assert META_NOTE not in result.notes
    built = designer.build(result.design, "cpu", SHAPES).eval()
    built.load_state_dict(result.state_dict, strict=True)
    with torch.no_grad():
        assert torch.equal(built(x), model(x))
    assert ".to(" not in designer.generate_code(result.design, "UNet").split("def forward")[-1]


# -- moves written by hand, traced by torch.fx ---------------------------------------------------


class TwoStage(nn.Module):
    """A linear stem on the CPU, a move, then a head on the meta device."""

    def __init__(self, move) -> None:
        super().__init__()
        self.stem = nn.Linear(8, 16)
        self.act = nn.ReLU()
        self.head = nn.Linear(16, 4, device="meta")
        self.move = move

    def forward(self, x):
        h = self.move(self, self.act(self.stem(x)))
        return torch.tanh(self.head(torch.sigmoid(h)))


MOVES = {
    "to": (lambda m, h: h.to("meta"), "meta"),
    "keyword": (lambda m, h: h.to(device=torch.device("meta")), "meta"),
    "same dtype": (lambda m, h: h.to("meta", torch.float32, non_blocking=True), "meta"),
    "a weight's device": (lambda m, h: h.to(m.head.weight.device), "meta"),
    "like a weight": (lambda m, h: h.to(m.head.weight), "meta"),
    "cuda": (lambda m, h: h.cuda(), "cuda"),
    "cuda 1": (lambda m, h: h.cuda(1), "cuda:1"),
    "index": (lambda m, h: h.to(0), "cuda:0"),
    "cpu": (lambda m, h: h.cpu(), "cpu"),
}


@pytest.mark.parametrize("name", MOVES)
def test_a_hand_written_move_is_a_wire_and_places_what_follows(name):
    move, device = MOVES[name]
    result = designer.import_torch(TwoStage(move), torch.randn(2, 8))
    design = result.design
    types = [design.node(n)["type"] for n in design.node_ids()]
    assert types == ["Input", "Linear", "ReLU", "Sigmoid", "Linear", "Tanh", "Output"]
    assert devices_by_node(design) == {
        "input": "cpu",
        "stem": "cpu",
        "act": "cpu",
        "sigmoid": device,  # no weights: where its input was moved to
        "head": "meta",
        "tanh": "meta",
        "output": "meta",
    }
    assert [t.device.type for t in result.state_dict.values()] == ["cpu", "cpu", "meta", "meta"]


class Moves(nn.Module):
    def __init__(self, move) -> None:
        super().__init__()
        self.move = move

    def forward(self, x):
        return self.move(x)


@pytest.mark.parametrize(
    ("move", "is_move"),
    [
        (lambda x: x.to("meta"), True),
        (lambda x: x.to("cpu", copy=True), True),
        (lambda x: x.to(torch.float64), False),  # a cast, not a move
        (lambda x: x.to("meta", torch.float16), False),
        (lambda x: x.to("meta", memory_format=torch.channels_last), False),
        (lambda x: x.to(dtype=torch.float32), False),  # no device: nothing moves
        (lambda x: x.cpu(), True),
    ],
)
def test_only_a_move_that_keeps_the_dtype_is_a_wire(move, is_move):
    traced = trace(Moves(move), (torch.randn(2, 3, 4, 4),))
    (node,) = [n for n in traced.graph.nodes if n.op == "call_method"]
    found = moved_tensor(node, traced.values)
    assert (found is not None) == is_move
    if is_move:
        assert found.op == "placeholder"


class Scale(nn.Module):
    """A module kept whole by the importer's fallback (rebuilt by its constructor)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x):
        return x * self.weight


def test_a_module_with_meta_weights_rebuilds_without_comparing_outputs():
    module = Scale(4).to("meta")
    x = torch.randn(2, 4, device="meta")
    assert rebuild(module, ((x,), {}, module(x))) == {"width": 4}


class Halves(nn.Module):
    """A block whose own forward crosses devices: one layer on the CPU, two on meta."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8)).to("meta")

    def forward(self, x):
        return self.b(self.a(x).to("meta"))


class WithHalves(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(8, 8)
        self.halves = Halves()

    def forward(self, x):
        return self.halves(self.stem(x))


def test_a_block_across_devices_goes_where_most_of_its_weights_are_with_a_note():
    result = designer.import_torch(WithHalves(), torch.randn(2, 8))
    assert devices_by_node(result.design) == {
        "input": "cpu",
        "stem": "cpu",
        "halves": "meta",
        "output": "meta",
    }
    assert any(n.startswith("halves holds weights on several devices") for n in result.notes)
