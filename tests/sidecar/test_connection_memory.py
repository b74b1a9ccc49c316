"""1,000 idle tap connections cost the sidecar at most 10 MB of resident memory."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families as parse_text

from tests.paths import ROOT

IDLE = 1_000
WARM = 20  # connections opened first, so one-off allocations are in the baseline


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _open_connections(http: str) -> float:
    with urllib.request.urlopen(http + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return next(s.value for fam in parse_text(text) for s in fam.samples
                if s.name == "mlmon_connections" and s.labels == {"transport": "unix"})


def _settled(http: str, n: int) -> None:
    deadline = time.monotonic() + 30
    while _open_connections(http) != n:
        assert time.monotonic() < deadline, f"{_open_connections(http)} of {n} connections"
        time.sleep(0.05)


def test_a_thousand_idle_connections_cost_at_most_10_mb(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-m", "tests.sidecar.rss_child", str(tmp_path)],
                             cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    conns: list[socket.socket] = []
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())

        def connect() -> None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(info["socket"])
            conns.append(s)

        for _ in range(WARM):
            connect()
        _settled(info["http"], WARM)
        before = _rss_kib(child.pid)
        for _ in range(IDLE):
            connect()
        _settled(info["http"], WARM + IDLE)
        grown = _rss_kib(child.pid) - before
        print(f"{IDLE} idle connections: +{grown} KiB")
        assert grown <= 10 * 1024, f"{IDLE} idle connections took {grown} KiB"
    finally:
        for s in conns:
            s.close()
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
