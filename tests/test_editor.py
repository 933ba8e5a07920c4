"""The editing session, driven headless: every command, refusals, undo/redo, files, recovery."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from designer.core.fileformat import design_to_dict, load
from designer.edit.editor import Change, Editor, EditRefused
from designer.edit.recovery import Autosaver, orphans

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def unet() -> Editor:
    editor = Editor()
    editor.open(EXAMPLES / "unet.json")
    return editor


def small() -> Editor:
    """Input -> Conv2d -> Output, wired."""
    editor = Editor()
    x = editor.add_node("Input", (0, 0), {"shape": [3, 32, 32]})
    conv = editor.add_node("Conv2d", (200, 0), {"out_channels": 8, "padding": 0})
    y = editor.add_node("Output", (400, 0))
    editor.connect(x, "out", conv, "in")
    editor.connect(conv, "out", y, "in")
    return editor


def snapshot(editor: Editor) -> dict:
    return design_to_dict(editor.design)


# -- commands ---------------------------------------------------------------------------------


def test_shapes_follow_edits():
    editor = small()
    assert editor.report.ok
    assert editor.report.nodes["conv2d"].shape == (None, 8, 30, 30)
    editor.set_param("conv2d", "out_channels", 64)
    assert editor.report.nodes["conv2d"].shape == (None, 64, 30, 30)
    assert editor.report.nodes["output"].shape == (None, 64, 30, 30)


def test_input_takes_one_wire_and_a_new_one_replaces_it():
    editor = small()
    other = editor.add_node("Input", (0, 200), {"shape": [3, 16, 16]})
    editor.connect(other, "out", "conv2d", "in")
    assert editor.design.inputs_of("conv2d") == {"in": (other, "out")}
    assert editor.report.nodes["conv2d"].shape == (None, 8, 14, 14)
    editor.undo()
    assert editor.design.inputs_of("conv2d") == {"in": ("input", "out")}


def test_output_fans_out():
    editor = small()
    relu = editor.add_node("ReLU", (200, 200))
    editor.connect("input", "out", relu, "in")
    assert len(editor.design.outputs_of("input")) == 2


def test_cycle_is_refused_with_a_message_and_changes_nothing():
    editor = small()
    relu = editor.add_node("ReLU", (300, 100))
    editor.connect("conv2d", "out", relu, "in")
    before, steps = snapshot(editor), len(editor.history.undo_stack)
    with pytest.raises(EditRefused, match=r"would close a loop \(conv2d already feeds relu\)"):
        editor.connect(relu, "out", "conv2d", "in")
    with pytest.raises(EditRefused, match="cannot feed itself"):
        editor.connect(relu, "out", relu, "in")
    assert snapshot(editor) == before and len(editor.history.undo_stack) == steps


def test_unknown_ports_and_types_are_refused():
    editor = small()
    with pytest.raises(EditRefused, match="has no output 'y'"):
        editor.connect("conv2d", "y", "output", "in")
    with pytest.raises(EditRefused, match="has no input 'z'; its inputs: in"):
        editor.connect("input", "out", "conv2d", "z")
    with pytest.raises(EditRefused, match="did you mean Conv2d"):
        editor.add_node("Conv2D")


def test_variadic_block_grows_an_input_when_its_last_one_is_wired():
    editor = small()
    cat = editor.add_node("Concat", (600, 0))
    assert editor.ports(cat).inputs == ("in1", "in2")
    editor.connect("input", "out", cat, "in1")
    assert editor.ports(cat).inputs == ("in1", "in2")
    editor.connect("conv2d", "out", cat, "in2")
    assert editor.ports(cat).inputs == ("in1", "in2", "in3")
    editor.connect("input", "out", cat, "in3")
    assert editor.ports(cat).inputs == ("in1", "in2", "in3", "in4")
    editor.undo()
    assert editor.ports(cat).inputs == ("in1", "in2", "in3")


def test_composite_instance_shows_its_ports(unet):
    assert unet.ports("up1") == unet.ports("up2")
    assert unet.ports("up1").inputs == ("x1", "x2") and unet.ports("up1").outputs == ("y",)
    assert unet.report.nodes["up4"].shape == (None, 64, 572, 572)
    assert unet.report.total_params == 31_037_698


def test_invalid_parameter_is_refused_with_the_reason(unet):
    before = snapshot(unet)
    with pytest.raises(EditRefused, match=r"out_channels = 0 is out of range; give an integer"):
        unet.set_param("outc", "out_channels", 0)
    with pytest.raises(EditRefused, match="DoubleConv has no parameter 'kernel'"):
        unet.set_param("inc", "kernel", 3)
    with pytest.raises(EditRefused, match="not an integer"):
        unet.set_param_text("outc", "out_channels", "two")
    assert snapshot(unet) == before and not unet.can_undo


def test_parameters_from_text():
    editor = small()
    editor.set_param_text("conv2d", "kernel_size", "3, 5")
    editor.set_param_text("conv2d", "padding", "same")
    editor.set_param_text("input", "shape", "1x28x28")
    params = editor.design.node("conv2d")["params"]
    assert params["kernel_size"] == (3, 5) and params["padding"] == "same"
    assert editor.report.nodes["conv2d"].shape == (None, 8, 28, 28)
    editor.reset_param("conv2d", "padding")
    assert "padding" not in editor.design.node("conv2d")["params"]


def test_optional_parameter_can_be_unset(unet):
    unet.set_param_text("inc", "mid_channels", "32")
    assert unet.design.node("inc")["params"]["mid_channels"] == 32
    unet.set_param_text("inc", "mid_channels", "")
    assert unet.design.node("inc")["params"]["mid_channels"] is None
    assert unet.report.ok


def test_move_several_nodes_is_one_undo_step(unet):
    before = snapshot(unet)
    unet.move({"inc": (10, 20), "down1": (30, 40), "x": unet.design.node("x")["pos"]})
    assert len(unet.history.undo_stack) == 1
    assert unet.history.top().label == "Move 2 nodes"
    unet.undo()
    assert snapshot(unet) == before


def test_delete_nodes_and_wires(unet):
    unet.delete(wires=[("up4", "x2")])
    assert "x2" not in unet.design.inputs_of("up4")
    assert {(i.node, i.port, i.code) for i in unet.report.errors} == {("up4", "x2", "unconnected")}
    unet.delete(nodes=["down4"], wires=[("up1", "x1")])
    assert "down4" not in unet.design and unet.history.top().label == "Delete down4"
    assert {(i.node, i.code) for i in unet.report.errors} == {("up1", "unconnected")}
    unet.undo()
    unet.undo()
    assert unet.report.ok


def test_rename(unet):
    unet.rename("outc", "head")
    assert unet.design.node("outc")["label"] == "head"
    with pytest.raises(EditRefused, match="cannot be empty"):
        unet.rename("outc", "  ")


def test_copy_paste_keeps_internal_wires_with_fresh_ids(unet):
    assert unet.copy(["down1", "down2", "ghost"]) == 2
    new = unet.paste()
    assert new == ["down1_1", "down2_1"]
    assert unet.design.inputs_of("down2_1") == {"x": ("down1_1", "y")}
    assert unet.design.inputs_of("down1_1") == {}
    assert unet.design.node("down1_1")["pos"] == (
        unet.design.node("down1")["pos"][0] + 40,
        unet.design.node("down1")["pos"][1] + 40,
    )
    again = unet.paste(at=(1000, 1000))
    assert again == ["down1_2", "down2_2"] and unet.design.node("down1_2")["pos"] == (1000, 1000)


def test_duplicate_leaves_the_clipboard_alone(unet):
    unet.copy(["x"])
    assert unet.duplicate(["outc", "logits"]) == ["outc_1", "logits_1"]
    assert unet.design.inputs_of("logits_1") == {"in": ("outc_1", "y")}
    assert [n for n, _ in unet.clipboard.nodes] == ["x"]
    unet.undo()
    assert "outc_1" not in unet.design


def test_auto_layout_is_undoable_and_spreads_nodes(unet):
    before = snapshot(unet)
    unet.auto_layout()
    positions = {unet.design.node(n)["pos"] for n in unet.design.node_ids()}
    assert len(positions) == len(unet.design)
    unet.undo()
    assert snapshot(unet) == before


def test_listeners_hear_which_nodes_changed():
    editor = small()
    heard: list[Change] = []
    stop = editor.subscribe(heard.append)
    editor.set_param("conv2d", "out_channels", 4)
    editor.connect("input", "out", "output", "in")
    editor.undo()
    stop()
    editor.redo()
    assert [(c.kind, set(c.nodes), c.wires) for c in heard] == [
        ("edit", {"conv2d"}, False),
        ("edit", {"input", "conv2d", "output"}, True),
        ("edit", {"input", "conv2d", "output"}, True),
    ]


def test_validation_is_incremental(unet):
    assert unet.report.recomputed == len(unet.design)
    unet.set_param("outc", "out_channels", 5)
    assert unet.report.recomputed == 2  # outc and the Output it feeds
    unet.move({"inc": (0, 0)})
    assert unet.report.recomputed == 0


# -- undo / redo of random command sequences --------------------------------------------------


TYPES = ["Conv2d", "ReLU", "Concat", "Down", "Add"]
MORE_TYPES = ["Input", "Output", "BatchNorm2d", "MaxPool2d", "Flatten", "Linear", "DoubleConv"]
BLOCK_NAMES = ["Blk", "Inner", "Outer", "B2", "lower", "Conv2d", "Not-a-name"]


def random_command(editor: Editor, rng: random.Random, blocks: bool = False) -> None:
    """One random command; refusals are part of the game and change nothing. With ``blocks``,
    also the design's own block types, grouping, ungrouping, opening and leaving blocks, cut,
    undo, redo and values no file can hold."""
    nodes = editor.design.node_ids()
    pick = lambda: rng.choice(nodes)  # noqa: E731
    action = rng.randrange(20 if blocks else 11)
    if action == 0 or not nodes:
        types = TYPES + (MORE_TYPES + sorted(editor.root.blocks) if blocks else [])
        editor.add_node(rng.choice(types), (rng.random(), 0))
    elif action == 1:
        src, dst = pick(), pick()
        outs, ins = editor.ports(src).outputs, editor.ports(dst).inputs
        if outs and ins:
            editor.connect(src, rng.choice(outs), dst, rng.choice(ins))
    elif action == 2:
        dst = pick()
        if editor.design.inputs_of(dst):
            editor.disconnect(dst, rng.choice(sorted(editor.design.inputs_of(dst))))
    elif action == 3:
        node = pick()
        spec = editor.design.spec(editor.design.node(node)["type"])
        if spec.params:
            param = rng.choice(spec.params)
            value = rng.choice([param.default, 0, 1, 7, -3, True, "same", [2, 2]])
            editor.set_param(node, param.name, value)
    elif action == 4:
        moved = rng.sample(nodes, min(2, len(nodes)))
        editor.move({n: (rng.uniform(0, 900), rng.uniform(0, 900)) for n in moved})
    elif action == 5:
        editor.delete(nodes=[pick()])
    elif action == 6:
        editor.rename(pick(), rng.choice(["a", "b b", "Encoder"]))
    elif action == 7:
        editor.copy(rng.sample(nodes, min(3, len(nodes))))
        editor.paste()
    elif action == 8:
        editor.duplicate([pick()])
    elif action == 9:
        editor.auto_layout()
    elif action == 10:
        node = pick()
        if editor.design.node(node)["params"]:
            editor.reset_param(node, rng.choice(sorted(editor.design.node(node)["params"])))
    else:
        block_command(editor, rng, action - 11, nodes)


def block_command(editor: Editor, rng: random.Random, action: int, nodes: list[str]) -> None:
    """The commands ``random_command`` adds with ``blocks``: numbered 0 to 8."""
    inner = [n for n in nodes if editor.design.node(n)["type"] not in ("Input", "Output")]
    blocks = [n for n in nodes if editor.design.node(n)["type"] in editor.root.blocks]
    if action <= 1:
        pool = inner if inner and rng.random() < 0.9 else nodes
        chosen = rng.sample(pool, rng.randint(1, min(4, len(pool))))
        params = [(n, p.name) for n in chosen for p in spec_params(editor, n)]
        promote = rng.sample(params, min(len(params), rng.randrange(3)))
        name = rng.choice(BLOCK_NAMES) + rng.choice(["", str(rng.randrange(9))])
        editor.group(chosen, name, promote)
    elif action == 2:
        target = rng.choice(blocks if blocks and rng.random() < 0.9 else nodes)
        way = rng.random()
        if way < 0.4:
            editor.ungroup(target)
        elif way < 0.75:
            editor.expand(target)
        else:
            editor.collapse(editor.expansion_of(target) or target)
    elif action == 3 and blocks:
        editor.enter(rng.choice(blocks))
    elif action == 4:
        editor.leave(rng.randrange(len(editor.scope) + 1))
    elif action == 5:
        editor.undo() if rng.random() < 0.7 else editor.redo()
    elif action == 6:
        chosen = rng.sample(nodes, min(2, len(nodes)))
        editor.copy(chosen)
        editor.delete(nodes=chosen)  # cut
        if rng.random() < 0.5:
            editor.leave(rng.randrange(len(editor.scope) + 1))
        editor.paste(at=(rng.uniform(0, 900), 0))
    elif action == 7:
        where = rng.choice([1e12, float("nan"), -5e8, 123.456])
        editor.move({rng.choice(nodes): (where, 0)})
    else:
        node = rng.choice(nodes)
        params = spec_params(editor, node)
        if params:
            value = rng.choice([10**30, -1, 2.5, None, "x" * 80, [1, 2, 3, 4]])
            editor.set_param(node, rng.choice(params).name, value)
        else:
            editor.rename(node, rng.choice(["x" * 65, "\ud800", "ok"]))


def spec_params(editor: Editor, node: str) -> tuple:
    return editor.design.spec(editor.design.node(node)["type"]).params


@pytest.mark.parametrize("seed", range(6))
def test_random_commands_then_undo_all_gives_back_the_original(unet, seed):
    rng = random.Random(seed)
    original = snapshot(unet)
    steps = 0
    for _ in range(80):
        version = unet.version
        try:
            random_command(unet, rng)
        except EditRefused:
            assert unet.version == version
        steps += unet.version != version
    assert steps == len(unet.history.undo_stack) > 30
    final = snapshot(unet)
    final_report = unet.report.to_json()
    for _ in range(steps):
        assert unet.undo() is not None
    assert unet.undo() is None
    assert snapshot(unet) == original and not unet.dirty
    for _ in range(steps):
        assert unet.redo() is not None
    assert snapshot(unet) == final
    assert unet.report.to_json() == final_report
    unet.design.lint()


# -- files, dirty flag, recovery --------------------------------------------------------------


def test_dirty_flag_follows_saves_and_undo(unet, tmp_path):
    assert not unet.dirty and unet.display_name == "unet.json"
    unet.rename("x", "image")
    assert unet.dirty
    unet.undo()
    assert not unet.dirty
    unet.rename("x", "image")
    target = unet.save_as(tmp_path / "mine.json")
    assert not unet.dirty and unet.path == target
    assert load(target).node("x")["label"] == "image"
    unet.undo()
    assert unet.dirty
    unet.redo()
    assert not unet.dirty


def test_save_without_a_file_asks_for_one():
    editor = small()
    assert editor.dirty and editor.display_name == "untitled (not saved)"
    with pytest.raises(EditRefused, match="use Save As"):
        editor.save()


def test_new_and_open_reset_history(unet, tmp_path):
    unet.rename("x", "image")
    unet.new(path=tmp_path / "fresh.json")
    assert len(unet.design) == 0 and not unet.can_undo and not unet.dirty
    unet.save()
    assert load(tmp_path / "fresh.json").node_ids() == []


def test_open_lays_out_a_design_without_positions(tmp_path):
    data = design_to_dict(small().design)
    for node in data["nodes"]:
        node["pos"] = [0, 0]
    path = tmp_path / "flat.json"
    path.write_text(__import__("json").dumps(data))
    editor = Editor()
    editor.open(path)
    assert len({editor.design.node(n)["pos"] for n in editor.design.node_ids()}) == 3


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_autosave_every_interval_and_recovery_after_a_crash(unet, tmp_path):
    unet.autosaver = Autosaver(tmp_path, interval=30)
    assert unet.autosave_if_due(0.0) is None  # nothing unsaved
    unet.set_param("outc", "out_channels", 3)
    written = unet.autosave_if_due(100.0)
    assert written is not None and written.exists()
    unet.set_param("outc", "out_channels", 4)
    assert unet.autosave_if_due(110.0) is None  # too soon
    assert unet.autosave_if_due(131.0) == written
    assert orphans(tmp_path) == []  # our own file: we are still running
    crashed = written.rename(tmp_path / f"recovery-{dead_pid()}.json")
    found = orphans(tmp_path)
    assert [f.file for f in found] == [crashed]
    assert found[0].original.endswith("unet.json") and "autosaved" in found[0].describe()
    fresh = Editor(autosaver=Autosaver(tmp_path))
    fresh.recover(found[0])
    assert fresh.dirty and fresh.path.name == "unet.json"
    assert fresh.design.node("outc")["params"]["out_channels"] == 4
    assert not crashed.exists()


def test_clean_close_leaves_no_recovery_file(unet, tmp_path):
    unet.autosaver = Autosaver(tmp_path)
    unet.rename("x", "image")
    assert unet.autosave_if_due(0.0).exists()
    unet.close()
    assert list(tmp_path.iterdir()) == []
