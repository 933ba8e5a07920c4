"""GUI pieces that need no window: the id map, node presentation, parameter text, the CLI guard."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from designer.core.params import Param, ParamError
from designer.core.paramtext import from_text, to_text
from designer.edit.editor import Editor, find_blocks
from designer.gui.idmap import IdMap, PortRef
from designer.gui.present import issues_by_node, node_view, status_line, window_title

ROOT = Path(__file__).resolve().parent.parent


def test_idmap_resolves_a_drawn_wire_in_either_direction():
    ids = IdMap()
    ids.add_node("a", 1), ids.add_node("b", 2)
    ids.add_port(PortRef("a", "out", True), 10)
    ids.add_port(PortRef("b", "in", False), 20)
    ids.add_port(PortRef("b", "out", True), 21)
    assert ids.wire_between(10, 20) == ("a", "out", "b", "in")
    assert ids.wire_between(20, 10) == ("a", "out", "b", "in")
    assert ids.wire_between(10, 21) is None  # two outputs
    ids.add_wire(("a", "out", "b", "in"), 30)
    assert ids.wires_touching("b") == [("a", "out", "b", "in")]
    assert ids.drop_node("b") == [2]
    assert 20 not in ids.item_port and 21 not in ids.item_port and ids.drop_node("b") == []
    assert ids.drop_wire(("a", "out", "b", "in")) == 30 and ids.item_wire == {}


def test_node_view_shows_shapes_params_and_issues():
    editor = Editor()
    editor.open(ROOT / "examples" / "unet.json")
    view = node_view(editor, "up1", [])
    assert view.title == "up1" and view.block_line == "Up · 9,177,600 params"
    assert view.inputs == ("x1", "x2") and view.output_text == ("N×512×71×71",)
    assert node_view(editor, "logits", []).block_line == "Output · N×2×572×572"
    editor.delete(wires=[("up1", "x2")])
    grouped = issues_by_node(editor.report.issues)
    bad = node_view(editor, "up1", grouped["up1"])
    assert bad.severity == "error" and bad.bad_ports == {"x2"}
    assert bad.output_text == ("?",) and "input x2 is not connected" in bad.problems
    assert "1 error" in status_line(editor, "cpu") and "device: cpu" in status_line(editor, "cpu")
    assert window_title(editor) == "unet.json* — torch-designer"


def test_nested_issues_belong_to_their_composite_node():
    editor = Editor()
    editor.open(ROOT / "examples" / "unet.json")
    editor.set_param("x", "shape", [3, 8, 8])  # too small to halve four times
    grouped = issues_by_node(editor.report.issues)
    assert set(grouped) <= set(editor.design.node_ids()) and grouped


@pytest.mark.parametrize(
    ("param", "text", "value"),
    [
        (Param("k", "ints", 3, length=2, choices=("same",)), "3, 5", (3, 5)),
        (Param("k", "ints", 3, length=2, choices=("same",)), "same", "same"),
        (Param("k", "ints", 3, length=2), "7", 7),
        (Param("s", "shape", (3,)), "3x572x572", [3, 572, 572]),
        (Param("m", "int", None, optional=True), "", None),
        (Param("p", "float", 0.5), "1e-3", 0.001),
        (Param("b", "bool", True), "off", False),
    ],
)
def test_parameter_text_round_trip(param, text, value):
    assert from_text(param, text) == value
    assert from_text(param, to_text(param, value)) == value


def test_parameter_text_errors_name_the_parameter():
    with pytest.raises(ParamError, match="out_channels: 'abc' is not an integer"):
        from_text(Param("out_channels", "int", 1, min=1), "abc")
    with pytest.raises(ParamError, match="needs a value"):
        from_text(Param("out_channels", "int", 1), " ")


def test_block_search_ranks_names_first():
    assert [s.name for s in find_blocks("conv2d")][:1] == ["Conv2d"]
    assert [s.name for s in find_blocks("doubleconv")] == ["DoubleConv"]
    assert "Upsample" in [s.name for s in find_blocks("upsampel")]  # a typo still finds it
    assert find_blocks("zzzz") == []


def test_gui_without_a_display_says_so_and_exits_2():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [sys.executable, "-m", "designer", "gui", "examples/unet.json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "needs a display" in result.stderr and "xvfb-run" in result.stderr
    assert "Traceback" not in result.stderr


def test_gui_reports_an_unreadable_file_before_opening_a_window(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = subprocess.run(
        [sys.executable, "-m", "designer", "gui", str(broken)],
        cwd=ROOT,
        env={**os.environ, "DISPLAY": ":12345"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "invalid JSON" in result.stderr


def test_core_modules_do_not_import_dearpygui():
    code = (
        "import sys, designer, designer.edit.editor, designer.core.validate, designer.gui.present, "
        "designer.gui.idmap\n"
        "assert 'dearpygui' not in sys.modules and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_the_window_is_the_host_its_panels_are_given():
    """Every member of the panels' narrow interface exists on App, with the same parameters."""
    pytest.importorskip("dearpygui")
    from designer.gui.app import App
    from designer.gui.host import Host

    methods = [
        name
        for name, member in vars(Host).items()
        if inspect.isfunction(member) and not name.startswith("_")
    ]
    assert len(methods) > 10
    for name in methods:
        mine, host = inspect.signature(getattr(App, name)), inspect.signature(getattr(Host, name))
        assert list(mine.parameters) == list(host.parameters), name
    made = inspect.getsource(App.__init__)
    assert all(f"self.{name} =" in made for name in Host.__annotations__)
