from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from exporter.atomic import write_atomic


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
