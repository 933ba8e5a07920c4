"""The one writer: whole files or none, through links, into devices, by the umask, no leftovers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import pytest

from designer.core.atomicfile import atomic_write, remove_stale_temps
from designer.core.fileformat import DesignFileError
from designer.core.fileformat import atomic_write as reexported


def test_fileformat_still_offers_the_writer():
    assert reexported is atomic_write


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_bytes(b"old")
    link = tmp_path / "link.json"
    link.symlink_to("real.json")
    atomic_write(link, b"new")
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert real.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "made")
    atomic_write(tmp_path / "link", b"x")
    assert (tmp_path / "made").read_bytes() == b"x" and (tmp_path / "link").is_symlink()


def test_a_device_is_written_into_never_replaced():
    atomic_write(os.devnull, b"nothing")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_fifo_is_written_into(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, b"streamed")
    reader.join(timeout=10)
    assert got == [b"streamed"] and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_dev_stdout_reaches_a_pipe(tmp_path):
    code = (
        "from designer.core.atomicfile import atomic_write; atomic_write('/dev/stdout', b'piped')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"piped"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        ("loop", "it is a symlink loop"),
        ("through", "the path goes through a file as if it were a folder"),
        ("folder", "it is a folder"),
        ("missing", "does not exist; create it first"),
    ],
)
def test_paths_that_cannot_be_written_say_why(tmp_path, make, message):
    target = {
        "loop": tmp_path / "a",
        "through": tmp_path / "file" / "x.json",
        "folder": tmp_path,
        "missing": tmp_path / "no" / "x.json",
    }[make]
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(DesignFileError, match=message) as info:
        atomic_write(target, b"x")
    assert str(target) in str(info.value)


def test_text_is_refused_so_the_caller_must_encode(tmp_path):
    with pytest.raises(TypeError, match="atomic_write takes bytes, not str"):
        atomic_write(tmp_path / "x.py", "source")
    assert list(tmp_path.iterdir()) == []


def test_a_new_file_follows_the_umask_and_a_replaced_one_keeps_its_mode(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new", b"x")
        kept = tmp_path / "kept"
        kept.write_bytes(b"")
        kept.chmod(0o604)
        atomic_write(kept, b"y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o640
    assert stat.S_IMODE(kept.stat().st_mode) == 0o604


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "d.json"
    path.write_bytes(b"before")
    names = []
    real = os.fsync

    def interrupt(fd):
        names.extend(p.name for p in tmp_path.iterdir() if p.name != "d.json")
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, b"after")
    monkeypatch.setattr(os, "fsync", real)
    assert path.read_bytes() == b"before"
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]
    (name,) = names
    assert name.startswith(f".d.json.{os.getpid()}.") and name.endswith(".tmp")


def test_only_temporaries_of_dead_writers_are_removed(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = int(done.stdout)
    target = tmp_path / "m.onnx"
    stale = tmp_path / f".m.onnx.{dead}.abcd_123.tmp"
    alive = tmp_path / f".m.onnx.{os.getppid()}.abcd_123.tmp"
    other = tmp_path / f".m.onnx.old.{dead}.abcd_123.tmp"  # another target's temporary
    for p in (stale, alive, other):
        p.write_bytes(b"")
    assert remove_stale_temps(target) == [stale]
    atomic_write(target, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name, "m.onnx"])


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_weights_are_saved_whole_through_the_writer(tmp_path, monkeypatch, suffix):
    from designer import DesignBuilder
    from designer.run.session import ModelCache, run_design

    b = DesignBuilder("w")
    b.output(b.add("Conv2d", b.input((3, 8, 8)), node_id="conv", out_channels=4, kernel_size=3))
    cache = ModelCache()
    run_design(cache, b.build(), "cpu")
    path = tmp_path / f"w{suffix}"
    path.write_bytes(b"previous weights")
    link = tmp_path / f"link{suffix}"
    link.symlink_to(path)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", disk_full)
        with pytest.raises(OSError, match="No space left"):
            cache.save(link)
    assert path.read_bytes() == b"previous weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, link.name])
    cache.save(link)
    assert link.is_symlink() and ModelCache().load(b.build(), "cpu", path) == 2


def test_the_code_panel_saves_its_source_as_utf8(tmp_path):
    from types import SimpleNamespace

    from designer.gui.panels import CodePanel

    said = []
    panel = CodePanel.__new__(CodePanel)  # no window: only the saving is under test
    panel.app = SimpleNamespace(say=said.append)
    panel.source = "class Módel:\n    pass\n"
    panel.save(tmp_path / "m.py")
    assert (tmp_path / "m.py").read_text(encoding="utf-8") == panel.source
    assert said == [f"generated code saved to {tmp_path / 'm.py'}"]
