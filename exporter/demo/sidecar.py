"""The sidecar as a child process (`python -m exporter serve`), started and stopped cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


class SidecarError(RuntimeError):
    pass


class SidecarProcess:
    """``mlmon serve`` on a socket and a loopback HTTP address; implements the Service seam."""

    name = "sidecar"

    def __init__(self, config: Path, socket_path: Path, http: str, log: Path,
                 compute_interval: float | None = None, ready_timeout: float = 30.0) -> None:
        self.config = config
        self.socket_path = socket_path
        self.http = http
        self.log = log
        self.compute_interval = compute_interval
        self.ready_timeout = ready_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.http}"

    def urls(self) -> dict[str, str]:
        return {"metrics": f"{self.base_url}/metrics", "status": f"{self.base_url}/v1/status"}

    def start(self) -> None:
        env = dict(os.environ)
        if self.compute_interval is not None:
            env["MLMON_COMPUTE_INTERVAL"] = f"{self.compute_interval:g}s"
        argv = [sys.executable, "-m", "exporter", "serve", "--config", str(self.config),
                "--socket", str(self.socket_path), "--http", self.http]
        with self.log.open("wb") as out:
            # A session of its own: Ctrl-C reaches the demo, which then stops the
            # sidecar in order (tap flushed first) instead of both dying at once.
            self._proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                          start_new_session=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise SidecarError(f"the sidecar exited with code {self._proc.returncode}:\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise SidecarError(f"the sidecar was not ready within {self.ready_timeout:.0f}s:\n"
                           + self.log_tail())

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def status(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{self.base_url}/v1/status", timeout=5) as resp:
                data: dict[str, Any] = json.loads(resp.read())
                return data
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (the sidecar drains and writes its state), then SIGKILL after ``timeout``."""
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
