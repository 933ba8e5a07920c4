"""Design files: round trips, stable order, one clear error per malformed file, atomic saves."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from common import EXAMPLES

import designer
from designer.core.fileformat import DesignFileError, dumps, loads

GOOD = {
    "format": "torch-designer",
    "version": 1,
    "name": "t",
    "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [3, 8, 8]}},
        {"id": "relu", "type": "ReLU"},
        {"id": "y", "type": "Output"},
    ],
    "edges": [{"from": "x.out", "to": "relu.in"}, {"from": "relu.out", "to": "y.in"}],
}


def bad(mutate) -> str:
    data = json.loads(json.dumps(GOOD))
    mutate(data)
    with pytest.raises(DesignFileError) as info:
        loads(json.dumps(data), "bad.json")
    return str(info.value)


@pytest.mark.parametrize("name", ["unet.json", "resnet.json", "two_branch.json"])
def test_round_trip_is_identical(name, tmp_path):
    design = designer.load(EXAMPLES / name)
    designer.save(design, tmp_path / name)
    assert (tmp_path / name).read_text() == (EXAMPLES / name).read_text()
    assert designer.load(tmp_path / name) == design


def test_params_are_written_in_sorted_order():
    d = loads(json.dumps(GOOD))
    d.node("relu")["params"] = {"b": 1, "a": 2}
    text = dumps(d)
    assert text.index('"a": 2') < text.index('"b": 1')


def test_invalid_json_names_line_and_column():
    with pytest.raises(DesignFileError) as info:
        loads('{"format": "torch-designer",\n "version": 1,,}', "x.json")
    assert str(info.value).startswith("x.json: line 2, column 15: invalid JSON")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("nodes"), "bad.json: $: missing key 'nodes'"),
        (lambda d: d.update(format="other"), "$.format: expected 'torch-designer'"),
        (lambda d: d.update(version=99), "$.version: version 99 is newer than this designer"),
        (lambda d: d.update(version="1"), "$.version: expected an integer, got a string"),
        (lambda d: d["nodes"][1].update(prams={}), "$.nodes[1]: unknown key 'prams'"),
        (lambda d: d["nodes"][1].update(id="x"), "$.nodes[1].id: duplicate node id 'x' (first at"),
        (lambda d: d["nodes"][1].update(id="a b"), "$.nodes[1].id: 'a b' is not a valid id"),
        (lambda d: d["nodes"][1].update(type=3), "$.nodes[1].type: expected a block type name"),
        (lambda d: d["nodes"][1].update(pos=[1]), "$.nodes[1].pos: expected [x, y]"),
        (lambda d: d["nodes"][1].update(params=[]), "$.nodes[1].params: expected an object"),
        (lambda d: d["edges"][0].update({"from": "nope.out"}), "$.edges[0].from: no node 'nope'"),
        (lambda d: d["edges"][0].update({"to": "relu"}), "$.edges[0].to: 'relu' must be"),
        (lambda d: d["edges"].append({"from": "x.out", "to": "relu.in"}), "wired twice"),
        (
            lambda d: d["nodes"][1].update(params={"k": {"expr": "1"}}),
            "$.nodes[1].params.k: expected",
        ),
    ],
)
def test_malformed_files_get_one_clear_error(mutate, expected):
    assert expected in bad(mutate)


def test_model_problems_load_fine_and_are_validated():
    data = json.loads(json.dumps(GOOD))
    data["nodes"][1]["type"] = "Relu"
    design = loads(json.dumps(data))
    report = designer.validate(design)
    assert [i.code for i in report.errors] == ["unknown-type"]


def test_missing_file_folder_and_binary(tmp_path):
    with pytest.raises(DesignFileError, match="no such file"):
        designer.load(tmp_path / "none.json")
    with pytest.raises(DesignFileError, match="is a folder"):
        designer.load(tmp_path)
    (tmp_path / "b.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DesignFileError, match="not UTF-8"):
        designer.load(tmp_path / "b.json")


def test_deep_nesting_is_a_clear_error():
    with pytest.raises(DesignFileError, match="nested too deeply"):
        loads("[" * 100_000 + "]" * 100_000)


def test_expressions_are_never_executed_on_load(tmp_path):
    marker = tmp_path / "pwned"
    data = json.loads(json.dumps(GOOD))
    data["blocks"] = {
        "Evil": {
            "params": [],
            "nodes": [
                {"id": "x", "type": "Input"},
                {
                    "id": "r",
                    "type": "Linear",
                    "params": {
                        "out_features": {"expr": f"__import__('os').system('touch {marker}')"}
                    },
                },
                {"id": "y", "type": "Output"},
            ],
            "edges": [{"from": "x.out", "to": "r.in"}, {"from": "r.out", "to": "y.in"}],
        }
    }
    with pytest.raises(
        DesignFileError, match=r"\$\.blocks\.Evil\.nodes\[r\]\.params\.out_features"
    ):
        loads(json.dumps(data))
    assert not marker.exists()


def test_composite_expression_names_must_be_declared():
    data = json.loads(json.dumps(GOOD))
    data["blocks"] = {
        "B": {
            "params": [{"name": "width", "type": "int", "default": 4, "min": 1}],
            "nodes": [
                {"id": "x", "type": "Input"},
                {"id": "r", "type": "Linear", "params": {"out_features": {"expr": "widht * 2"}}},
                {"id": "y", "type": "Output"},
            ],
            "edges": [{"from": "x.out", "to": "r.in"}, {"from": "r.out", "to": "y.in"}],
        }
    }
    with pytest.raises(DesignFileError, match="unknown name 'widht'; declared: in_channels"):
        loads(json.dumps(data))


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "d.json"
    design = loads(json.dumps(GOOD))
    designer.save(design, path)
    before = path.read_text()
    design.name = "changed"

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        designer.save(design, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]  # no temporary left behind


def test_save_into_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DesignFileError, match="does not exist"):
        designer.save(loads(json.dumps(GOOD)), tmp_path / "nope" / "d.json")


def test_declared_parameter_bounds_must_be_numbers():
    # found by the file fuzzer: a list as a declared minimum used to crash describing the range
    data = json.loads(json.dumps(GOOD))
    data["blocks"] = {
        "B": {
            "params": [{"name": "width", "type": "int", "default": 4, "min": [[1]]}],
            "nodes": [{"id": "x", "type": "Input"}, {"id": "y", "type": "Output"}],
            "edges": [{"from": "x.out", "to": "y.in"}],
        }
    }
    with pytest.raises(
        DesignFileError, match=r"\$\.blocks\.B\.params\[0\]\.min: expected a number"
    ):
        loads(json.dumps(data))


def test_names_moved_out_of_fileformat_stay_importable():
    """Reading text, reading structure and writing live in their own modules now."""
    from designer.core import fileformat, filereader, filetext, filewriter

    for module, names in (
        (filetext, ("read_text", "parse_json", "MAX_BYTES")),
        (filereader, ("design_from_dict", "composite_from_dict", "_Reader", "VERSION")),
        (filewriter, ("design_to_dict", "composite_to_dict", "dumps", "model_fingerprint")),
    ):
        for name in names:
            assert getattr(fileformat, name) is getattr(module, name)


def test_reading_imports_no_writer_and_the_writers_stay_reexported():
    code = (
        "import sys, designer.core.fileformat as f\n"
        "assert 'designer.core.filewriter' not in sys.modules\n"
        "assert 'designer.core.atomicfile' not in sys.modules\n"
        "from designer.core.fileformat import atomic_write, dumps\n"
        "from designer.core import atomicfile, filewriter\n"
        "assert dumps is filewriter.dumps and atomic_write is atomicfile.atomic_write\n"
        "try:\n    f.no_such_name\nexcept AttributeError as e:\n    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "has no attribute 'no_such_name'" in result.stdout


def _dims_block(param: dict) -> str:
    data = json.loads(json.dumps(GOOD))
    data["blocks"] = {
        "B": {
            "params": [{"name": "dims", "type": "ints", **param}],
            "nodes": [
                {"id": "x", "type": "Input"},
                {"id": "p", "type": "Permute", "params": {"dims": {"expr": "dims"}}},
                {"id": "y", "type": "Output"},
            ],
            "edges": [{"from": "x.out", "to": "p.in"}, {"from": "p.out", "to": "y.in"}],
        }
    }
    return json.dumps(data)


def test_a_declared_list_parameter_keeps_how_many_values_it_takes():
    """An ``ints`` parameter with ``most`` takes up to that many values (an imported block's
    four permute dims); without it, 1 to 3 (kernel sizes); the file says which, byte for byte."""
    text = _dims_block({"default": [0, 2, 3, 1], "most": 6})
    design = loads(text)
    assert design.blocks["B"].params[0].default == (0, 2, 3, 1)
    assert dumps(loads(dumps(design))) == dumps(design) and '"most": 6' in dumps(design)
    with pytest.raises(DesignFileError, match=r"params\[0\]\.default: dims has 4 values, this "):
        loads(_dims_block({"default": [0, 2, 3, 1]}))
    for most, problem in ((0, "1 to 64"), (4.5, "1 to 64"), (65, "1 to 64"), ("4", "a number")):
        with pytest.raises(DesignFileError, match=rf"params\[0\]\.most: expected .*{problem}"):
            loads(_dims_block({"default": [0, 1], "most": most}))
    with pytest.raises(DesignFileError, match="without length"):
        loads(_dims_block({"default": [0, 1], "most": 4, "length": 2}))
