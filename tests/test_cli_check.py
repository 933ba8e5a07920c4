"""``designer check``: the table, the exit statuses, JSON for scripts, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from common import EXAMPLES

from designer.cli import main

UNET = str(EXAMPLES / "unet.json")


def test_check_unet_prints_table_and_total(capsys):
    assert main(["check", UNET, "--input-shape", "1,3,572,572"]) == 0
    out = capsys.readouterr().out
    assert "up1     Up          1×512×71×71     9,177,600" in out
    assert "total" in out and "31,037,698" in out
    assert "valid, 31,037,698 parameters, output logits 1×2×572×572" in out


def test_check_json(capsys):
    assert main(["check", UNET, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] and data["total_params"] == 31_037_698
    assert data["nodes"][-1] == {
        "id": "logits",
        "block": "Output",
        "shape": [None, 2, 572, 572],
        "output_shapes": [],
        "params": 0,
    }


def test_check_invalid_design_exits_1_and_prints_each_issue(capsys):
    assert main(["check", UNET, "--input-shape", "1,3,8,8"]) == 1
    out = capsys.readouterr().out
    assert "error: MaxPool2d `down4/pool`: the input is 1 high" in out
    assert "1 error; nothing was done" in out


def test_check_unreadable_file_exits_2(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text("{")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: line 1, column 2: invalid JSON")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input-shape", "1,3,x"], "is not a shape like 1,3,572,572"),
        (["--input-shape", "img=1,3,8,8"], "no Input named 'img'; inputs: x"),
    ],
)
def test_bad_input_shape(args, message, capsys):
    assert main(["check", UNET, *args]) == 2
    assert message in capsys.readouterr().err


def test_no_traceback_reaches_the_user(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{"format": "torch-designer", "version": 1, "nodes": 5, "edges": []}')
    result = subprocess.run(
        [sys.executable, "-m", "designer", "check", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "$.nodes: expected a list, got the number 5" in result.stderr


def test_the_collector_waits_only_while_a_process_of_its_own_imports(monkeypatch):
    import gc

    import designer.cli as cli

    seen, frozen = [], []
    real = cli.parser
    monkeypatch.setattr(cli, "parser", lambda argv: seen.append(gc.isenabled()) or real(argv))
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))  # keep this process's own
    assert gc.isenabled()
    args = cli._parse_and_import(["check", UNET], own_process=True)
    assert args.command == "check" and seen == [False] and frozen == [True] and gc.isenabled()
    cli._parse_and_import(["check", UNET], own_process=False)  # a caller's process: untouched
    assert seen == [False, True] and frozen == [True]
    with pytest.raises(Exception, match="the following arguments are required"):
        cli._parse_and_import(["check"], own_process=True)
    assert gc.isenabled()
