"""Usage errors: exit 2 and one line, before any work, nothing written; signals end cleanly."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from common import EXAMPLES, ROOT

from designer.cli import main


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A folder holding the design ``d.json`` and weights ``w.pt``; no work may start."""
    shutil.copy(EXAMPLES / "two_branch.json", tmp_path / "d.json")
    (tmp_path / "w.pt").write_bytes(b"weights")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.json").symlink_to(tmp_path / "d.json")
    (tmp_path / "loop.py").symlink_to("loop.py")

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the command line was checked")

    monkeypatch.setattr("designer.codegen.writer.generate_code", no_work)
    monkeypatch.setattr("designer.interop.export.export_onnx", no_work)
    monkeypatch.chdir(tmp_path)
    return tmp_path


CASES = [
    (["codegen", "d.json", "--class-name", "1x"], "'1x' is not a Python class name"),
    (["codegen", "d.json", "--class-name", "class"], "'class' is not a Python class name"),
    (["codegen", "d.json", "--class-name", "Näive"], "is not a Python class name"),
    (["codegen", "d.json", "--templates", "none"], "--templates 'none' is not a folder"),
    (["codegen", "d.json", "--input-shape", "1,3,x"], "is not a shape like 1,3,572,572"),
    (["codegen", "d.json", "--input-shape", "1,0,8,8"], "every size must be a positive"),
    (["codegen", "d.json", "--input-shape", "img=1,3,8,8"], "no Input named 'img'"),
    (["codegen", "d.json", "-o", "d.json"], "-o 'd.json' is the input file 'd.json'"),
    (["codegen", "d.json", "-o", "link.json"], "-o 'link.json' is the input file"),
    (["codegen", "link.json", "-o", "./d.json"], "is the input file"),
    (["codegen", "d.json", "-o", "sub"], "-o 'sub' is a folder"),
    (["codegen", "d.json", "-o", "no/m.py"], "folder 'no' does not exist; create it first"),
    (["codegen", "d.json", "--bogus"], "unrecognized arguments: --bogus"),
    (["codegen", "d.json", "-o", "loop.py"], "-o 'loop.py': cannot write: it is a symlink loop"),
    (["codegen", "d.json", "-o", "w.pt/m.py"], "the path goes through a file"),
    (["export", "d.json", "-o", "m.onnx", "--opset", "12"], "the exporter writes opsets 18 to"),
    (["export", "d.json", "-o", "m.onnx", "--opset", "999"], "the exporter writes opsets 18 to"),
    (["export", "d.json", "-o", "m.onnx", "--opset", "x"], "'x': the exporter writes opsets"),
    (["export", "d.json", "-o", "m.onnx", "--tolerance", "inf"], "give a positive number"),
    (["export", "d.json", "-o", "m.onnx", "--tolerance", "nan"], "give a positive number"),
    (["export", "d.json", "-o", "m.onnx", "--tolerance", "0"], "give a positive number"),
    (["export", "d.json", "-o", "m.onnx", "--tolerance=-1e-4"], "give a positive number"),
    (["export", "d.json", "-o", "m.onnx", "--dynamic", "time"], "name axes from batch"),
    (["export", "d.json", "-o", "m.onnx", "--input-shape", "1,3,8,"], "is not a shape like"),
    (["export", "d.json", "-o", "d.json"], "-o 'd.json' is the input file 'd.json'"),
    (["export", "d.json", "-o", "w.pt", "--weights", "w.pt"], "is the input file 'w.pt'"),
    (["export", "d.json", "-o", "sub"], "-o 'sub' is a folder"),
    (["export", "d.json", "-o", "no/m.onnx"], "folder 'no' does not exist"),
    (["export", "d.json"], "the following arguments are required: -o/--output"),
    (["nothing"], "invalid choice: 'nothing'"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_a_usage_error_exits_2_with_one_line_and_writes_nothing(folder, capsys, args, message):
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1, captured.err
    assert re.match(r"designer( codegen| export)?: error: ", captured.err), captured.err
    assert message in captured.err
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_templates_are_documented_as_code_to_trust(capsys):
    with pytest.raises(SystemExit):
        main(["codegen", "--help"])
    assert "only use templates you trust" in " ".join(capsys.readouterr().out.split())


def run_script(tmp_path, body: str) -> subprocess.CompletedProcess:
    """Run ``body`` in a fresh interpreter at the repository root; it may patch, then calls main."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_sigterm_while_writing_removes_the_temporary_file_and_exits_143(tmp_path):
    out = tmp_path / "out" / "m.py"
    out.parent.mkdir()
    result = run_script(
        tmp_path,
        f"""
        import os, signal, sys
        from designer.cli import main
        real = os.fsync
        def fsync(fd):  # SIGTERM arrives while the temporary file is open
            os.kill(os.getpid(), signal.SIGTERM)
            real(fd)
        os.fsync = fsync
        sys.exit(main(["codegen", "examples/unet.json", "-o", {str(out)!r}]))
        """,
    )
    assert result.returncode == 143
    assert result.stderr == "terminated\n"
    assert list(out.parent.iterdir()) == []


def test_a_write_killed_hard_leaves_a_temporary_file_the_next_write_removes(tmp_path):
    out = tmp_path / "out" / "m.py"
    out.parent.mkdir()
    result = run_script(
        tmp_path,
        f"""
        import os, signal
        from designer.cli import main
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
        main(["codegen", "examples/unet.json", "-o", {str(out)!r}])
        """,
    )
    assert result.returncode == -signal.SIGKILL
    (left,) = out.parent.iterdir()
    assert re.fullmatch(r"\.m\.py\.\d+\.[a-z0-9_]{8}\.tmp", left.name), left.name
    live = out.parent / f".m.py.{os.getpid()}.abcdefgh.tmp"  # a writer still at work
    live.write_bytes(b"")
    assert main(["codegen", str(EXAMPLES / "unet.json"), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(["m.py", live.name])


def test_ctrl_c_during_export_exits_130_with_one_line(tmp_path):
    out = tmp_path / "m.onnx"
    result = run_script(
        tmp_path,
        f"""
        import os, signal, sys, threading, time
        import torch
        from designer.cli import main
        real = torch.onnx.export
        def export(*args, **kwargs):  # Ctrl+C while the exporter is at work, however fast it is
            threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
            time.sleep(30)
            return real(*args, **kwargs)
        torch.onnx.export = export
        sys.exit(main(["export", "examples/unet.json", "-o", {str(out)!r},
                       "--input-shape", "1,3,64,64"]))
        """,
    )
    assert result.returncode == 130
    assert result.stderr == "interrupted\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "script.py"]


def test_a_ctrl_c_a_library_wrapped_in_its_own_error_still_exits_130(tmp_path, capsys, monkeypatch):
    from designer.interop.export import ExportError

    def export_onnx(*args, **kwargs):
        try:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                raise AttributeError("module 'torch._dynamo' has no attribute 'exc'") from None
        except AttributeError as exc:
            raise ExportError("torch.onnx.export failed") from exc

    monkeypatch.setattr("designer.interop.export.export_onnx", export_onnx)
    design = str(EXAMPLES / "two_branch.json")
    assert main(["export", design, "-o", str(tmp_path / "m.onnx")]) == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["blocks", "Nope"], "designer blocks: error: unknown block type 'Nope'"),
        (["gui", "--size", "0x10"], "designer gui: error: argument --size: '0x10' is not a window"),
        (["gui", "--size", "big"], "designer gui: error: argument --size: 'big' is not a window"),
    ],
)
def test_other_commands_report_usage_errors_alike(tmp_path, capsys, args, message):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(message)
    assert len(captured.err.splitlines()) == 1


# -- Ctrl+C from the first instant ---------------------------------------------------------------

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def designer_command() -> list[str]:
    """What a user runs: the console script beside this interpreter, else ``python -m designer``."""
    script = Path(sys.executable).with_name("designer")
    return [str(script)] if script.exists() else [sys.executable, "-m", "designer"]


def handles_sigterm(pid: int) -> bool:
    """Whether the process catches SIGTERM: the command's ``main`` has begun (Python itself does
    not catch it, so before that instant only Python's own start-up runs)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (signal.SIGTERM - 1) & 1)


def ctrl_c(args: list[str], delay: float) -> subprocess.CompletedProcess:
    """Run ``designer ARGS``; ``delay`` seconds after its ``main`` begins, send SIGINT."""
    process = subprocess.Popen(
        [*designer_command(), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not handles_sigterm(process.pid) and process.poll() is None:
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.0005)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, "", err)


@linux_only
@pytest.mark.parametrize("delay", [0, 0.002, 0.005, 0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3])
def test_ctrl_c_at_any_instant_of_a_check_ends_in_one_line(delay):
    result = ctrl_c(["check", str(EXAMPLES / "unet.json")], delay)
    assert "Traceback" not in result.stderr, result.stderr
    assert (result.returncode, result.stderr) in [(130, "interrupted\n"), (0, "")], result


@linux_only
@pytest.mark.parametrize("delay", [0.05, 0.3, 0.6, 1.0])
def test_ctrl_c_while_a_run_imports_torch_ends_in_one_line(delay):
    # exit 0 too: a Ctrl+C while torch imports numpy is swallowed by torch (the run goes on)
    args = ["run", str(EXAMPLES / "two_branch.json"), "--device", "cpu", "--bench", "1"]
    result = ctrl_c(args, delay)
    assert "Traceback" not in result.stderr, result.stderr
    assert (result.returncode, result.stderr) in [(130, "interrupted\n"), (0, "")], result


def test_a_reader_that_leaves_early_gets_no_error_message():
    """``designer blocks | head -1``: the closed pipe ends the command quietly."""
    command = [sys.executable, "-m", "designer", "blocks"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        status = proc.wait(timeout=60)
    assert status in (0, 1), status  # 0 when it had written all before the reader left
    assert "error" not in err, err
