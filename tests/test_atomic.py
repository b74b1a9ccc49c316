from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from exporter.atomic import remove_temp_files, write_atomic


def test_replaces_whole_with_ordinary_permissions(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    old = os.umask(0o022)
    try:
        write_atomic(target, "néw")
    finally:
        os.umask(old)
    assert target.read_bytes() == "néw".encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temp left


def test_failure_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "state.bin"
    target.write_bytes(b"kept")
    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.bin"]


def test_mode_sets_exact_permissions_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "state.bin"
    old = os.umask(0o000)
    try:
        write_atomic(target, b"ids", mode=0o600)
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    write_atomic(target, b"again", mode=0o600)  # replacing keeps it private
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.read_bytes() == b"again"


def test_leftover_temp_files_of_one_target_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "state.bin"
    # the names mkstemp gives write_atomic's temporary files: .<name>.<8 random>.tmp
    orphans = [tmp_path / ".state.bin.k2_x9q0a.tmp", tmp_path / ".state.bin.zzzzzzzz.tmp"]
    others = [tmp_path / ".state.bin.notes", tmp_path / ".other.bin.k2_x9q0a.tmp",
              tmp_path / "state.bin", tmp_path / ".state.bin.k2_x9q0a.tmp.keep",
              tmp_path / "x.state.bin.k2_x9q0a.tmp"]
    for p in orphans + others:
        p.write_bytes(b"x")
    assert sorted(remove_temp_files(target)) == sorted(orphans)
    assert sorted(tmp_path.iterdir()) == sorted(others)
    assert remove_temp_files(tmp_path / "missing" / "state.bin") == []


def test_a_fifo_or_device_is_written_through_not_replaced(tmp_path: Path) -> None:
    """`--out /dev/null` once renamed a file over the machine's /dev/null: a target that
    is not a regular file (here a FIFO, like a device) keeps its kind and gets the bytes."""
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_atomic(fifo, "report\n")
    reader.join(timeout=10)
    assert got == [b"report\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temp file left
