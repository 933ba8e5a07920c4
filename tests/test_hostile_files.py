"""Design files that attack the reader: devices, FIFOs, link loops, odd paths, BOMs, duplicate
keys, huge literals and huge fan-in. Each ends in one clear error (exit 2 from the CLI), fast."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from common import EXAMPLES
from nested_blocks import nested_file

from designer.core.fileformat import MAX_BYTES, VERSION, DesignFileError, load, loads, read_text

UNET = EXAMPLES / "unet.json"


def cli_check(path: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "designer", "check", path],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: "/dev/zero", "not a regular file"),
        (lambda tmp: "/dev/null", "not a regular file"),
        (lambda tmp: str(tmp), "is a folder"),
        (lambda tmp: str(tmp / "missing.json"), "no such file"),
        (lambda tmp: _fifo(tmp), "not a regular file"),
        (lambda tmp: _link_loop(tmp), "symbolic links"),
        (lambda tmp: str(tmp / ("n" * 300 + ".json")), "too long"),
        (lambda tmp: _through_file(tmp), "is a file, not a folder"),
    ],
    ids=["dev-zero", "dev-null", "folder", "missing", "fifo", "link-loop", "long-name", "through"],
)
def test_unreadable_paths_are_one_clear_error(tmp_path, make, message):
    path = make(tmp_path)
    start = time.perf_counter()
    with pytest.raises(DesignFileError, match=message):
        load(path)
    assert time.perf_counter() - start < 2


def test_cli_refuses_a_fifo_without_hanging(tmp_path):
    result = cli_check(_fifo(tmp_path))
    assert result.returncode == 2
    assert "not a regular file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_names_a_link_loop(tmp_path):
    result = cli_check(_link_loop(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "symbolic links" in result.stderr and "internal error" not in result.stderr


def test_read_stops_at_the_cap(tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048)
    with pytest.raises(DesignFileError, match="larger than 1,024 bytes"):
        read_text(big, limit=1024)
    assert MAX_BYTES == 64 * 1024 * 1024


def test_bom_is_named(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + UNET.read_bytes())
    with pytest.raises(DesignFileError, match="byte order mark"):
        load(path)


def test_duplicate_keys_are_named():
    text = '{"format": "torch-designer", "version": 1, "nodes": [], "nodes": [], "edges": []}'
    with pytest.raises(DesignFileError, match="key 'nodes' appears twice"):
        loads(text)


def test_integer_literal_over_the_digit_limit():
    text = UNET.read_text().replace(f'"version": {VERSION}', '"version": ' + "9" * 5000, 1)
    assert "9" * 5000 in text
    with pytest.raises(DesignFileError, match="invalid JSON"):
        loads(text)


def test_huge_number_in_params_is_a_validation_issue_not_a_crash():
    data = json.loads(UNET.read_text())
    data["nodes"][1]["params"]["out_channels"] = int("9" * 4000)
    from designer.core.validate import validate

    report = validate(loads(json.dumps(data)))
    assert not report.ok


def test_wires_into_one_node_load_in_linear_time():
    n = 100_000
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [4]}}]
    nodes.append({"id": "cat", "type": "Concat", "params": {"dim": 1}})
    edges = [{"from": "x.out", "to": f"cat.in{i + 1}"} for i in range(n)]
    text = json.dumps({"format": "torch-designer", "version": 1, "nodes": nodes, "edges": edges})
    start = time.perf_counter()
    design = loads(text)
    elapsed = time.perf_counter() - start
    assert design.graph.number_of_edges() == n
    assert elapsed < 10, f"{n:,} wires into one node took {elapsed:.1f} s"


def test_input_wired_twice_names_both_wires():
    data = json.loads(UNET.read_text())
    data["edges"].append(dict(data["edges"][0]))
    with pytest.raises(DesignFileError, match=r"wired twice \(first at \$\.edges\[0\]\)"):
        loads(json.dumps(data))


def _fifo(tmp: Path) -> str:
    path = tmp / "pipe.json"
    os.mkfifo(path)
    return str(path)


def _link_loop(tmp: Path) -> str:
    (tmp / "a.json").symlink_to(tmp / "b.json")
    (tmp / "b.json").symlink_to(tmp / "a.json")
    return str(tmp / "a.json")


def _through_file(tmp: Path) -> str:
    (tmp / "plain").write_text("x")
    return str(tmp / "plain" / "design.json")


def test_input_output_error_is_named(tmp_path, monkeypatch):
    path = tmp_path / "d.json"
    path.write_text(UNET.read_text())

    def failing_open(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "open", failing_open)
    with pytest.raises(DesignFileError, match="input/output error while reading"):
        load(path)


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: _link_loop(tmp),
        lambda tmp: str(tmp / ("n" * 300 + ".json")),
        lambda tmp: _through_file(tmp),
        lambda tmp: _deep_blocks(tmp),
    ],
    ids=["link-loop", "long-name", "through", "deep-blocks"],
)
def test_cli_exits_2_with_one_line(tmp_path, make):
    result = cli_check(make(tmp_path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0], result.stderr


def _deep_blocks(tmp: Path) -> str:
    path = tmp / "deep.json"
    path.write_text(nested_file([f"B{i}" for i in range(160)], [False] * 160, 2))
    return str(path)
