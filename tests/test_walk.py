"""The one walk (designer/core/walk.py): node order, port order, recursion into blocks."""

from __future__ import annotations

from common import EXAMPLES

import designer
from designer import DesignBuilder
from designer.core.walk import Visit, flow_order, walk


def unet():
    design = designer.load(EXAMPLES / "unet.json")
    return design, designer.validate(design, {"x": (1, 3, 64, 64)})


def test_nodes_come_in_flow_order_with_what_validation_found():
    design, report = unet()
    visits = list(walk(design, report))
    assert [v.node for v in visits] == flow_order(design)
    assert [v.node for v in visits][:3] == ["x", "inc", "down1"]
    inc = visits[1]
    assert inc.path == "inc" and inc.spec.name == "DoubleConv" and inc.composite
    assert inc.values == report.nodes["inc"].values
    assert inc.in_shapes == [(1, 3, 64, 64)] and inc.out_shapes == [(1, 64, 64, 64)]


def test_file_order_breaks_ties_and_wiring_wins():
    b = DesignBuilder("order")
    x = b.input((4, 8, 8))
    late = b.add("ReLU", x, node_id="late")
    early = b.add("Sigmoid", x, node_id="early")
    b.output(b.add("Add", late, early, node_id="sum"))
    design = b.build()
    assert [v.node for v in walk(design)] == ["x", "late", "early", "sum", "y"]


def test_inputs_come_in_port_order_not_wiring_order():
    b = DesignBuilder("pad")
    x = b.input((4, 8, 8))
    small = b.add("MaxPool2d", x, node_id="small", kernel_size=2)
    design = b.build()
    pad = design.add_node("PadToMatch", {}, node_id="pad")
    design.connect("x", "out", pad, "ref")  # wired first, but port 2
    design.connect(small.node, "out", pad, "x")
    design.add_node("Output", {}, node_id="y")
    design.connect(pad, "out", "y", "in")
    (visit,) = [v for v in walk(design, designer.validate(design)) if v.node == "pad"]
    assert visit.inputs == [("small", "out"), ("x", "out")]
    assert visit.in_shapes == [(None, 4, 4, 4), (None, 4, 8, 8)]


def test_a_variadic_concat_reads_its_inputs_by_port_number():
    b = DesignBuilder("cat")
    x = b.input((1, 4, 4))
    branches = [b.add("Conv2d", x, node_id=f"c{i}", out_channels=i) for i in range(1, 12)]
    design = b.build()
    cat = design.add_node("Concat", {}, node_id="cat")
    for i in reversed(range(1, 12)):  # wired last to first; in10 and in11 sort after in9
        design.connect(branches[i - 1].node, "out", cat, f"in{i}")
    design.add_node("Output", {}, node_id="y")
    design.connect(cat, "out", "y", "in")
    (visit,) = [v for v in walk(design, designer.validate(design)) if v.node == "cat"]
    assert [src for src, _ in visit.inputs] == [f"c{i}" for i in range(1, 12)]
    assert [s[1] for s in visit.in_shapes] == list(range(1, 12))


def test_entered_blocks_come_before_their_node_with_paths():
    design, report = unet()
    paths = [v.path for v in walk(design, report, enter=True)]
    assert paths[:3] == ["x", "inc/x", "inc/conv1"]
    assert paths.index("down1/conv/relu2") < paths.index("down1/conv") < paths.index("down1")
    up1 = [p for p in paths if p.startswith("up1/")]
    assert up1[:5] == ["up1/x1", "up1/x2", "up1/up", "up1/pad", "up1/cat"]
    assert "up1/upsample" not in paths  # the instance's switched-off branch is not there


def test_enter_decides_per_node_and_sees_what_the_caller_gathered():
    design, report = unet()
    entered: list[str] = []

    def once(visit: Visit) -> bool:
        first = visit.spec.name not in entered
        entered.append(visit.spec.name)
        return first

    paths = [v.path for v in walk(design, report, enter=once)]
    assert "inc/conv1" in paths and "down1/conv" in paths
    assert "down1/conv/conv1" not in paths  # DoubleConv was entered once already, at inc
    assert not any(p.startswith("down2/") for p in paths)


def test_without_a_report_the_walk_follows_block_definitions():
    design, _ = unet()
    visits = list(walk(design, enter=True))
    up1 = [v.path for v in visits if v.path.startswith("up1/")]
    assert "up1/upsample" in up1 and "up1/up" in up1  # both branches of the definition
    assert all(v.info is None for v in visits)
