"""A child program of `mlmon demo` (the sidecar; with --stack Prometheus, Alertmanager,
the responder).

Implements the demo's Service seam: started in its own session (Ctrl-C reaches the demo,
which stops everything in order, tap flushed first), ready when ``ready_url`` (if any) answers 200,
stopped with SIGTERM (the sidecar drains and writes its state) and, after a timeout, SIGKILL.

Ports: a program asked to listen on port 0 gets a free port from the kernel at bind time,
which no other process can take between choosing and binding it (unlike ``free_port``,
which binds, closes, and hands out a port that another process may grab before the child
binds it). The child tells the bound port with one line of its log, its *announcement*,
which ``Program(announces=True)`` waits for (see ``announced``):

- mlmon's own programs (``mlmon serve``, ``mlmon respond``, the tests' servers) write
  ``listening on http://HOST:PORT`` (the sidecar adds ``tcp=HOST:PORT`` for its tap
  listener on the same line);
- Prometheus, Alertmanager and the Pushgateway (Go exporter-toolkit) log
  ``msg="Listening on" address=HOST:PORT`` with the bound port when given ``HOST:0``;
  ``mlflow server --port 0`` (uvicorn) logs ``Uvicorn running on http://HOST:PORT``.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago.

    Racy (another process may bind it before the child does): prefer port 0 and the
    child's announcement (``announces=True``) wherever the program announces its port.
    """
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


_OURS = re.compile(r"(?:listening on|Uvicorn running on) http://(\[[0-9A-Fa-f:.]+\]|[\w.-]+):(\d+)")
_GO = re.compile(r'msg="Listening on" address=(\[[0-9A-Fa-f:.]+\]|[\w.-]+):(\d+)')
_TCP = re.compile(r"\btcp=(\[[0-9A-Fa-f:.]+\]|[\w.-]+):(\d+)")


def announced(text: str) -> dict[str, str]:
    """The addresses a program's log announces: ``{"http": "HOST:PORT"}`` and, for the
    sidecar's tap listener, ``"tcp"``; empty until the announcement is written.
    The first announcement wins (a restarted program writes a new log)."""
    for line in text.splitlines():
        match = _OURS.search(line) or _GO.search(line)
        if match is None or int(match.group(2)) == 0:
            continue
        out = {"http": f"{match.group(1)}:{match.group(2)}"}
        tcp = _TCP.search(line)
        if tcp is not None:
            out["tcp"] = f"{tcp.group(1)}:{tcp.group(2)}"
        return out
    return {}


def wait_announced(log: Path, timeout: float,
                   proc: subprocess.Popen[bytes] | None = None) -> dict[str, str] | str:
    """Poll ``log`` until it announces an address: the addresses, otherwise why not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = announced(log.read_text(errors="replace"))
        except OSError:
            found = {}
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            return f"exited with code {proc.returncode} before announcing its port"
        time.sleep(0.05)
    return f"did not announce its port ('listening on ...') within {timeout:.0f}s"


class ProgramError(RuntimeError):
    """A child program did not start; the message ends with its log."""


class Program:
    """A child program. With ``announces=True`` it was told to listen on port 0: ``start``
    waits for its announcement, sets ``address``/``url``, and ``{url}`` in ``ready_url``
    and in the ``urls`` values stands for that base URL (``http://HOST:PORT``)."""

    error: type[ProgramError] = ProgramError

    def __init__(self, name: str, argv: Sequence[str], log: Path, ready_url: str | None,
                 urls: Mapping[str, str], env: Mapping[str, str] | None = None,
                 ready_timeout: float = 60.0, cwd: Path | None = None,
                 announces: bool = False) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.ready_url = ready_url
        self._urls = dict(urls)
        self.env = dict(env) if env is not None else None
        self.ready_timeout = ready_timeout
        self.cwd = cwd
        self.announces = announces
        self.address: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` announced by the program (empty before it did)."""
        return f"http://{self.address['http']}" if "http" in self.address else ""

    def urls(self) -> dict[str, str]:
        return {k: v.replace("{url}", self.url) for k, v in self._urls.items()}

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._proc

    def start(self) -> None:
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                          env=self.env, cwd=self.cwd, start_new_session=True)
        start = time.monotonic()
        if self.announces:
            found = wait_announced(self.log, self.ready_timeout, self._proc)
            if isinstance(found, str):
                self.stop()
                raise self.error(f"{self.name} {found}:\n" + self.log_tail())
            self.address = found
        if self.ready_url is None:
            return
        left = max(1.0, self.ready_timeout - (time.monotonic() - start))
        problem = wait_http(self.ready_url.replace("{url}", self.url), left, self._proc)
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
