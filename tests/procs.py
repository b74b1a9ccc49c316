"""Helpers for tests that run real programs on loopback."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
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

__all__ = ["IN_CI", "Served", "closed_port", "free_port", "peak_rss_kib", "post_events",
           "python_lines", "require_binary", "running", "serving", "wait_http"]

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


@dataclasses.dataclass(frozen=True)
class Served:
    """A program started by ``serving``: its process and the address it announced."""

    proc: subprocess.Popen[bytes]
    address: dict[str, str]  # "http" (HOST:PORT) and, for the sidecar's tap, "tcp"

    @property
    def url(self) -> str:
        return f"http://{self.address['http']}"

    @property
    def port(self) -> int:
        return int(self.address["http"].rpartition(":")[2])


@contextlib.contextmanager
def serving(argv: Sequence[str], log: Path, ready_path: str | None = None,
            timeout: float = 20.0, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> Iterator[Served]:
    """Start a program told to listen on port 0 (``127.0.0.1:0``), wait for the port it
    announces in its log (exporter/demo/programs.py) and for ``ready_path`` on it to
    answer 200; always stop it afterwards. No free_port race: the kernel picks the port
    when the program binds it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    ready = None if ready_path is None else "{url}" + ready_path
    program = programs.Program(Path(argv[0]).name, argv, log, ready, {}, env=env,
                               ready_timeout=timeout, cwd=cwd, announces=True)
    try:
        program.start()
    except programs.ProgramError as exc:
        raise AssertionError(str(exc)) from None
    try:
        assert program.process is not None
        yield Served(program.process, dict(program.address))
    finally:
        program.stop(timeout=10)


@contextlib.contextmanager
def closed_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port where connections are refused while the block runs: bound by this process
    but never listening, so no other program can take it (as it could a free_port)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                       socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        yield s.getsockname()[1]


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
