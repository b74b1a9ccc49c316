"""A child program of `mlmon demo` (the sidecar; with --stack Prometheus, Alertmanager,
the responder).

Implements the demo's Service seam: started in its own session (Ctrl-C reaches the demo,
which stops everything in order, tap flushed first), ready when ``ready_url`` answers 200,
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


class ProgramError(RuntimeError):
    """A child program did not start; the message ends with its log."""


class Program:
    error: type[ProgramError] = ProgramError

    def __init__(self, name: str, argv: Sequence[str], log: Path, ready_url: str,
                 urls: Mapping[str, str], env: Mapping[str, str] | None = None,
                 ready_timeout: float = 60.0) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.ready_url = ready_url
        self._urls = dict(urls)
        self.env = dict(env) if env is not None else None
        self.ready_timeout = ready_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    def urls(self) -> dict[str, str]:
        return dict(self._urls)

    def start(self) -> None:
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                          env=self.env, start_new_session=True)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise self.error(f"{self.name} exited with code {self._proc.returncode}:\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except urllib.error.HTTPError as exc:  # 503 while starting
                exc.close()
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise self.error(f"{self.name} was not ready within {self.ready_timeout:.0f}s:\n"
                           + self.log_tail())

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
