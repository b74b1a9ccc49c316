"""A real `mlmon serve` for the benchmarks: started, polled, measured, stopped.

The sidecar runs as a user runs it (``python -m exporter serve``) on a temporary Unix
socket and a loopback HTTP port, optionally under a command prefix such as
``taskset -c 0``; its memory and CPU time are summed over it and its decoder child.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from procfs import Memory, cpu_seconds, family, memory_sum  # bench/procfs.py


class Sidecar:
    def __init__(self, tmp: Path, cfg: Path, tag: str, *extra: str,
                 prefix: Sequence[str] = ()) -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.sock = tmp / f"{tag}.sock"
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (tmp / f"{tag}.log").open("wb")
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "exporter", "serve", "--config", str(cfg), "--socket",
             str(self.sock), "--http", f"127.0.0.1:{self.port}", "--log-level", "ERROR",
             *extra], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.log.close()
                    said = (tmp / f"{tag}.log").read_text()[-2000:]
                    raise RuntimeError(f"sidecar {tag} did not start: {said}") from None
                time.sleep(0.1)

    def status(self) -> Any:
        with urllib.request.urlopen(self.url + "/v1/status", timeout=10) as r:
            return json.loads(r.read())

    def total(self) -> int:
        return sum(m["predictions_total"] for m in self.status()["models"])

    def pids(self) -> list[int]:
        """The sidecar and its decoder processes."""
        return family(self.proc.pid)

    def memory(self) -> Memory:
        """Current RSS and PSS, and the peaks so far, summed over the sidecar's processes."""
        return memory_sum(self.pids())

    def peak_rss_mb(self) -> float:
        """Sum over the sidecar's processes of each one's peak RSS (shared pages counted
        in every process, so an upper bound)."""
        return self.memory().peak_rss

    def memory_mb(self) -> tuple[float, float]:
        """Current (RSS, PSS) summed over the sidecar's processes; PSS counts pages
        shared between them (libraries) once."""
        m = self.memory()
        return m.rss, m.pss

    def cpu_seconds(self) -> float:
        """CPU time used so far by the sidecar and its decoder processes together."""
        return sum(cpu_seconds(p) for p in self.pids())

    def watch_memory(self) -> MemoryWatch:
        return MemoryWatch(self)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


class MemoryWatch:
    """Samples the sidecar's summed RSS and PSS every 0.2 s while in a ``with`` block.

    The first sample's RSS is the sum of each process's peak so far, which covers
    start-up (profile loading, before the decoder exists) from above.
    """

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar
        self.samples = [(sidecar.peak_rss_mb(), sidecar.memory_mb()[1])]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.samples.append(self.sidecar.memory_mb())

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.sidecar.memory_mb())

    def result(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}rss_sum_peak_mb": max(r for r, _ in self.samples),
                f"{prefix}pss_peak_mb": max(p for _, p in self.samples),
                f"{prefix}rss_mb": self.sidecar.peak_rss_mb()}
