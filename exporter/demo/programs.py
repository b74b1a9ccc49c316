"""A child program of `mlmon demo` (the sidecar; with --stack Prometheus, Alertmanager,
the responder).

Implements the demo's Service seam: started in its own session (Ctrl-C reaches the demo,
which stops everything in order, tap flushed first), ready when ``ready_url`` (if any) answers 200,
stopped with SIGTERM (the sidecar drains and writes its state) and, after a timeout, SIGKILL.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago (for a child program to listen on)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                       socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, timeout: float,
              proc: subprocess.Popen[bytes] | None = None) -> str | None:
    """Poll ``url`` until it answers 200: None once it does, otherwise why it did not
    (``proc`` exited, or the timeout passed with the last error seen)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return f"exited with code {proc.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return None
        except urllib.error.HTTPError as exc:  # e.g. 503 while starting
            exc.close()
            last = exc
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.1)
    return f"was not ready within {timeout:.0f}s ({last})"


class ProgramError(RuntimeError):
    """A child program did not start; the message ends with its log."""


class Program:
    error: type[ProgramError] = ProgramError

    def __init__(self, name: str, argv: Sequence[str], log: Path, ready_url: str | None,
                 urls: Mapping[str, str], env: Mapping[str, str] | None = None,
                 ready_timeout: float = 60.0, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.ready_url = ready_url
        self._urls = dict(urls)
        self.env = dict(env) if env is not None else None
        self.ready_timeout = ready_timeout
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    def urls(self) -> dict[str, str]:
        return dict(self._urls)

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._proc

    def start(self) -> None:
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                          env=self.env, cwd=self.cwd, start_new_session=True)
        if self.ready_url is None:
            return
        problem = wait_http(self.ready_url, self.ready_timeout, self._proc)
        if problem is not None:
            self.stop()
            raise self.error(f"{self.name} {problem}:\n" + self.log_tail())

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""
