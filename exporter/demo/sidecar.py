"""The sidecar as a child process (`python -m exporter serve`), started and stopped cleanly."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from exporter.demo.programs import Program, ProgramError


def sidecar_argv(config: Path, socket_path: Path, http: str, *extra: str) -> list[str]:
    """``mlmon serve`` with this interpreter on a socket and an HTTP address (HOST:PORT)."""
    return [sys.executable, "-m", "exporter", "serve", "--config", str(config),
            "--socket", str(socket_path), "--http", http, *extra]


class SidecarError(ProgramError):
    pass


class SidecarProcess(Program):
    """``mlmon serve`` on a socket and a loopback HTTP address; implements the Service seam."""

    error = SidecarError

    def __init__(self, config: Path, socket_path: Path, http: str, log: Path,
                 compute_interval: float | None = None, ready_timeout: float = 30.0) -> None:
        self.config = config
        self.socket_path = socket_path
        self.http = http  # as asked: HOST:PORT, or HOST:0 for a port the kernel picks
        self.compute_interval = compute_interval
        env = dict(os.environ)
        if compute_interval is not None:
            env["MLMON_COMPUTE_INTERVAL"] = f"{compute_interval:g}s"
        # On port 0 the sidecar announces the port it bound (no free_port race): the
        # URLs are filled in from that announcement once it has started.
        announces = http.rpartition(":")[2] == "0"
        base = "{url}" if announces else f"http://{http}"
        super().__init__("sidecar", sidecar_argv(config, socket_path, http), log,
                         f"{base}/readyz", {"metrics": f"{base}/metrics",
                                            "status page": f"{base}/",
                                            "status JSON": f"{base}/v1/status"},
                         env=env, ready_timeout=ready_timeout, announces=announces)

    @property
    def http_address(self) -> str:
        """HOST:PORT the sidecar listens on (known after start when it was asked for :0)."""
        return self.address.get("http", self.http)

    @property
    def base_url(self) -> str:
        return f"http://{self.http_address}"

    def status(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{self.base_url}/v1/status", timeout=5) as resp:
                data: dict[str, Any] = json.loads(resp.read())
                return data
        except (urllib.error.URLError, OSError, ValueError):
            return None
