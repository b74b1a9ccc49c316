"""Helpers for tests that run real programs on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from exporter.demo import programs
from exporter.demo.programs import free_port

__all__ = ["IN_CI", "free_port", "peak_rss_kib", "post_events", "python_lines", "require_binary",
           "running", "wait_http"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_binary(name: str) -> str:
    """Path of a real program; fails under CI=true, skips elsewhere, when missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (make test installs it as root: scripts/ensure-tools.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def wait_http(url: str, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None,
              log: Path | None = None) -> None:
    """Wait until ``url`` answers 200, or fail with the process log."""
    problem = programs.wait_http(url, timeout, proc)
    if problem is not None:
        tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
        raise AssertionError(f"{url}: {problem}; log:\n{tail}")


@contextlib.contextmanager
def running(argv: Sequence[str], log: Path, ready_url: str | None = None,
            timeout: float = 20.0, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start a program, wait for ``ready_url``, and always stop it afterwards."""
    log.parent.mkdir(parents=True, exist_ok=True)
    program = programs.Program(Path(argv[0]).name, argv, log, ready_url, {}, env=env,
                               ready_timeout=timeout, cwd=cwd)
    try:
        program.start()
    except programs.ProgramError as exc:
        raise AssertionError(str(exc)) from None
    try:
        assert program.process is not None
        yield program.process
    finally:
        program.stop(timeout=10)


def post_events(url: str, body: bytes | Sequence[str], timeout: float = 30.0) -> tuple[int, Any]:
    """POST an NDJSON body (bytes, or lines) to a sidecar's /v1/events: (status, JSON answer)."""
    data = body if isinstance(body, bytes) else ("\n".join(body) + "\n").encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/x-ndjson"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def python_lines(code: str, *args: str) -> list[str]:
    """The stdout lines of a fresh ``python -c code args`` run from the repository root;
    fails with its stderr when it exits non-zero."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=root, env=env,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"child exited {out.returncode}:\n{out.stderr[-4000:]}"
    return out.stdout.strip().splitlines()


def peak_rss_kib(code: str, *args: str) -> int:
    """Peak RSS (VmHWM, KiB) of a fresh ``python -c code args`` that prints its own VmHWM
    as its last line (``resource.getrusage`` in a child would count the forking parent)."""
    return int(python_lines(code, *args)[-1])
