"""Atomic files: a report, profile or state file appears whole at its path, or not at all."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _special(path: Path) -> bool:
    """An existing device or pipe: /dev/null, /dev/stdout, a FIFO (a directory is not:
    renaming over it fails with the system's own error, as for any other file)."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)


def _write_through(path: Path, content: str | bytes) -> None:
    """Write into a device or pipe as it is: renaming a file over it would replace the
    device (``--out /dev/null`` once swapped the machine's /dev/null for a file)."""
    with open(path, "wb") as fh:
        fh.write(content.encode("utf-8") if isinstance(content, str) else content)


def write_atomic(path: Path, content: str | bytes, mode: int | None = None) -> None:
    """Write to a temporary file beside ``path``, fsync it, rename it over ``path`` and
    fsync the directory, so that neither the content nor the rename is lost in a crash.

    A target that is a device (such as /dev/null) or a FIFO is written through instead.
    Text is written as UTF-8. ``mode`` sets exact permissions (0o600 for files holding
    ids or alert data); None gives the umask's ordinary permissions (reports, profiles).
    """
    if _special(path):
        _write_through(path, content)
        return
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=directory)
    try:
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask  # mkstemp makes 0600; a report is an ordinary file
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(content.encode("utf-8") if isinstance(content, str) else content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_temp_files(path: Path) -> list[Path]:
    """Remove the temporary files ``write_atomic(path, ...)`` left when killed mid-write.

    Only names mkstemp gives this target (``.<name>.<8 random characters>.tmp``) in its
    directory; returns what was removed.
    """
    pattern = re.compile(re.escape(_temp_prefix(path)) + r"[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))
    directory = path.parent if str(path.parent) else Path(".")
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    removed = []
    for name in names:
        if pattern.fullmatch(name):
            (directory / name).unlink(missing_ok=True)
            removed.append(directory / name)
    return removed
