"""Auto layout: no wire runs under a node, no two nodes overlap, chains read left to right.

The criterion, checked on the drawn geometry: a node is the rectangle at its position with the
size the layout was given (the canvas's measure) or estimated; a wire is the curve DearPyGui's
node editor draws, a cubic bezier from the output pin (right edge, the port's row) to the input
pin (left edge) whose control points lie a quarter of the pins' distance level with each pin.
No wire's curve may enter a third node's rectangle (grazing its edge by a pixel is allowed), and
every wire must run left to right. (The curve, not the straight segment between the pins: a short
steep wire's segment may cut the corner of a wider neighbour that the drawn curve clears.)
"""

from __future__ import annotations

import bisect
import json
import math
import random
import runpy
import time
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import designs

import designer
from designer.core.graph import Design
from designer.core.layout import Box, auto_layout, boxes

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
STEPS = 48  # line pieces per drawn curve
SLACK = 1.0  # pixels a wire may graze a node's edge


# -- the criterion -------------------------------------------------------------------------------
def curve(start: tuple[float, float], end: tuple[float, float]) -> list[tuple[float, float]]:
    """The points of the bezier the node editor draws from an output pin to an input pin."""
    reach = 0.25 * math.dist(start, end)
    p1, p2 = (start[0] + reach, start[1]), (end[0] - reach, end[1])
    points = []
    for i in range(STEPS + 1):
        t = i / STEPS
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
        points.append(
            (
                a * start[0] + b * p1[0] + c * p2[0] + d * end[0],
                a * start[1] + b * p1[1] + c * p2[1] + d * end[1],
            )
        )
    return points


def crosses(p: tuple[float, float], q: tuple[float, float], rect: tuple) -> bool:
    """True when segment p-q enters the open rectangle (x0, y0, x1, y1) (Liang-Barsky)."""
    x0, y0, x1, y1 = rect
    lo, hi = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for step, room in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if step == 0:
            if room <= 0:
                return False
            continue
        t = room / step
        if step < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo >= hi:
            return False
    return True


def rectangles(design: Design, shape: dict[str, Box]) -> dict[str, tuple]:
    return {
        n: (x, y, x + shape[n].width, y + shape[n].height)
        for n in design.node_ids()
        for x, y in [design.node(n)["pos"]]
    }


def pins(design: Design, shape: dict[str, Box], src, sp, dst, dp) -> tuple:
    (xs, ys), (xd, yd) = design.node(src)["pos"], design.node(dst)["pos"]
    start = (xs + shape[src].width, ys + shape[src].outputs[sp] + 0.5)
    return start, (xd, yd + shape[dst].inputs[dp] + 0.5)


def problems(design: Design, shape: dict[str, Box]) -> list[str]:
    """Every breach of the criterion, in words."""
    rects = rectangles(design, shape)
    found = overlaps(rects)
    by_left = sorted(rects, key=lambda n: rects[n][0])
    lefts = [rects[n][0] for n in by_left]
    for src, sp, dst, dp in design.edges():
        start, end = pins(design, shape, src, sp, dst, dp)
        name = f"{src}.{sp} -> {dst}.{dp}"
        if end[0] <= start[0]:
            found.append(f"{name} runs right to left")
            continue
        points = curve(start, end)
        left, right = min(p[0] for p in points), max(p[0] for p in points)
        top, bottom = min(p[1] for p in points), max(p[1] for p in points)
        for n in by_left[: bisect.bisect_left(lefts, right)]:
            x0, y0, x1, y1 = rects[n]
            if n in (src, dst) or x1 <= left or y1 <= top or y0 >= bottom:
                continue
            inner = (x0 + SLACK, y0 + SLACK, x1 - SLACK, y1 - SLACK)
            if any(crosses(p, q, inner) for p, q in pairwise(points)):
                found.append(f"{name} runs under {n}")
    return found


def overlaps(rects: dict[str, tuple]) -> list[str]:
    found = []
    order = sorted(rects, key=lambda n: rects[n][0])
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            if rects[b][0] >= rects[a][2]:
                break
            if rects[a][1] < rects[b][3] and rects[b][1] < rects[a][3]:
                found.append(f"{a} overlaps {b}")
    return found


def laid_out(design: Design, sizes=None) -> list[str]:
    auto_layout(design, sizes=sizes)
    return problems(design, boxes(design, sizes))


def straight(design: Design, shape: dict[str, Box], src, sp, dst, dp) -> bool:
    start, end = pins(design, shape, src, sp, dst, dp)
    return start[1] == end[1]


# -- the bundled examples ------------------------------------------------------------------------
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_lay_out_with_free_lanes(path):
    design = designer.load(path)
    assert laid_out(design) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_lay_out_with_the_canvas_sizes(path):
    """The sizes the canvas estimates before drawing (from each node's text and shapes)."""
    from designer.edit.editor import Editor
    from designer.gui.present import node_view
    from designer.gui.view import estimated_size

    editor = Editor()
    editor.open(path)
    sizes = {}
    for n in editor.design.node_ids():
        view = node_view(editor, n, [])
        sizes[n] = estimated_size(view.lines(), view.rows)
    assert laid_out(editor.design, sizes) == []


def test_resnet_skips_run_straight_beside_their_branch():
    design = designer.load(ROOT / "examples" / "resnet.json")
    assert laid_out(design) == []
    shape = boxes(design)
    skips = [w for w in design.edges() if w[2].endswith("_add") and not w[0].endswith("bn2")]
    assert len(skips) == 3
    assert all(straight(design, shape, *w) for w in skips)
    xs = [design.node(n)["pos"][0] for n in ("image", "stem", "res1_conv1", "res3_add", "logits")]
    assert xs == sorted(xs)


def test_the_unet_example_keeps_its_drawn_u():
    generator = runpy.run_path(str(ROOT / "examples" / "build_examples.py"))
    for name in ("unet.json", "unet_small.json"):
        on_disk = json.loads((ROOT / "examples" / name).read_text())
        positions = {n["id"]: tuple(n["pos"]) for n in on_disk["nodes"]}
        assert positions == {n: tuple(p) for n, p in generator["U_SHAPE"].items()}


def test_a_chain_reads_left_to_right_on_one_row():
    design = Design()
    design.add_node("Input", {"shape": [3, 8, 8]}, node_id="x")
    previous = "x"
    for i in range(30):
        design.add_node(["Conv2d", "BatchNorm2d", "ReLU"][i % 3], node_id=f"n{i}")
        design.connect(previous, "out", f"n{i}", "in")
        previous = f"n{i}"
    assert laid_out(design) == []
    nodes = design.node_ids()
    assert len({design.node(n)["pos"][1] for n in nodes}) == 1
    xs = [design.node(n)["pos"][0] for n in nodes]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)


# -- random designs ------------------------------------------------------------------------------
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(designs(max_blocks=25))
def test_random_designs_lay_out_with_free_lanes(design):
    assert laid_out(design) == []


def network(rng: random.Random, size: int) -> Design:
    """A random network as people draw them: chains, residual blocks (with projections),
    inception-like branches of unequal length into a Concat, nested long skips (U-Net),
    learned parameters added in, attention fed three times by one node, an LSTM's extra output."""
    design, count = Design("random"), [0]

    def add(block: str, *sources, ports=None, prefix="n") -> tuple[str, str]:
        count[0] += 1
        node = design.add_node(block, node_id=f"{prefix}{count[0]}")
        if ports is None:
            several = block in ("Add", "Concat")
            ports = [f"in{i + 1}" if several else "in" for i in range(len(sources))]
        for (src, port), dst_port in zip(sources, ports, strict=True):
            design.connect(src, port, node, dst_port)
        return node, "out"

    current, stack = add("Input"), []
    while len(design) < size:
        roll = rng.random()
        if roll < 0.3:
            current = add(rng.choice(["Conv2d", "ReLU", "BatchNorm2d"]), current)
        elif roll < 0.5:
            branch = current
            for _ in range(rng.randint(1, 5)):
                branch = add("Conv2d", branch)
            skip = add("Conv2d", current) if rng.random() < 0.3 else current
            current = add("Add", *rng.sample([branch, skip], 2))
        elif roll < 0.62:
            branches = []
            for _ in range(rng.randint(2, 4)):
                branch = current
                for _ in range(rng.randint(0, 3)):
                    branch = add("ReLU", branch)
                branches.append(branch)
            current = add("Concat", *branches)
        elif roll < 0.72:
            stack.append(current)
            current = add("MaxPool2d", current)
        elif roll < 0.8 and stack:
            current = add("Concat", current, stack.pop())
        elif roll < 0.86:
            current = add("Add", current, add("Parameter", prefix="p"))
        elif roll < 0.93:
            current = add(
                "MultiheadAttention", current, current, current, ports=["query", "key", "value"]
            )
        else:
            lstm = add("LSTM", current, ports=["input"])[0]
            if rng.random() < 0.5:
                design.connect(lstm, "h", add("Output")[0], "in")
            current = (lstm, "out")
    while stack:
        current = add("Concat", current, stack.pop())
    add("Output", current)
    return design


@pytest.mark.parametrize("seed", range(40))
def test_random_networks_lay_out_with_free_lanes(seed):
    rng = random.Random(seed)
    assert laid_out(network(rng, rng.randint(5, 150))) == []


def test_tangled_graphs_still_get_a_tidy_layout():
    """Any wiring (each node fed by random recent outputs) can force a wire across a column of
    nodes; the layout still keeps nodes apart and every wire left to right."""
    rng = random.Random(7)
    for _ in range(10):
        design = Design()
        outputs = [(design.add_node("Input", node_id="x"), "out")]
        for i in range(40):
            block = rng.choice(["ReLU", "Add", "Concat"])
            node = design.add_node(block, node_id=f"n{i}")
            if block == "ReLU":
                design.connect(*rng.choice(outputs[-6:]), node, "in")
            else:
                sources = rng.sample(outputs[-8:], min(len(outputs), rng.randint(2, 3)))
                for k, (src, port) in enumerate(sources, start=1):
                    design.connect(src, port, node, f"in{k}")
            outputs.append((node, "out"))
        found = laid_out(design)
        assert not [p for p in found if "overlaps" in p or "right to left" in p]


# -- odd designs ---------------------------------------------------------------------------------
def test_cycles_unknown_blocks_and_lone_nodes_get_distinct_places():
    design = Design()
    for node, block in (("a", "ReLU"), ("b", "Mystery"), ("c", "ReLU"), ("d", "Conv2d")):
        design.add_node(block, node_id=node)
    design.connect("a", "out", "b", "x")
    design.connect("b", "y", "c", "in")
    design.connect("c", "out", "a", "in")  # a cycle: validation reports it; layout copes
    auto_layout(design)
    rects = rectangles(design, boxes(design))
    assert len({design.node(n)["pos"] for n in design.node_ids()}) == 4
    assert overlaps(rects) == []


def test_an_empty_design_and_a_single_node():
    design = Design()
    auto_layout(design)
    design.add_node("Input", {"shape": [3]}, node_id="x")
    auto_layout(design, origin=(10.0, 20.0))
    assert design.node("x")["pos"] == (10.0, 20.0)


def test_pins_sit_on_the_rows_the_canvas_draws():
    """Measured under Xvfb (DearPyGui 2, default style): a node is 42 + 21 px per row tall (the
    block line, each input, each output), its first row's pin 47.5 px below its top."""
    design = Design()
    for node in ("a", "b"):
        design.add_node("ReLU", node_id=node)
    design.add_node("Concat", node_id="cat")
    design.connect("a", "out", "cat", "in1")
    design.connect("b", "out", "cat", "in2")
    box = boxes(design)["cat"]
    assert box.height == 147  # block line, in1, in2, a free in3, out
    assert box.inputs == {"in1": 68, "in2": 89, "in3": 110}
    assert box.outputs == {"out": 131}
    measured = boxes(design, {"cat": (90.0, 168.0)})["cat"]  # two block lines (costs shown)
    assert measured.width == 90.0 and measured.inputs["in1"] == 89


def test_a_500_node_chain_with_skips_is_laid_out_quickly():
    design = Design()
    design.add_node("Input", {"shape": [8, 16, 16]}, node_id="n0")
    for i in range(1, 500):
        if i % 4 == 0:
            design.add_node("Add", node_id=f"n{i}")
            design.connect(f"n{i - 1}", "out", f"n{i}", "in1")
            design.connect(f"n{i - 4}", "out", f"n{i}", "in2")
        else:
            design.add_node("Conv2d", node_id=f"n{i}")
            design.connect(f"n{i - 1}", "out", f"n{i}", "in")
    start = time.perf_counter()
    auto_layout(design)
    elapsed = time.perf_counter() - start
    print(f"auto layout of a 500-node chain with skips: {elapsed * 1000:.0f} ms")
    assert problems(design, boxes(design)) == []
