"""How a child program's port is learnt: the announcement in its log (exporter/demo/programs.py)."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

from exporter.demo.programs import announced
from tests.paths import EXAMPLES
from tests.procs import serving

# Lines as the real programs write them (Prometheus 2.42, Alertmanager 0.25, mlflow 3).
PROMETHEUS = ('ts=2026-12-02T09:58:42.214Z caller=web.go:503 level=info component=web '
              'msg="Start listening for connections" address=127.0.0.1:0\n'
              'ts=2026-12-02T09:58:42.240Z caller=tls_config.go:232 level=info component=web '
              'msg="Listening on" address=127.0.0.1:46107\n')
UVICORN = "2026/12/02 10:00:27 INFO:     Uvicorn running on http://127.0.0.1:45211 (Press CTRL+C)"
SIDECAR = ("2026-12-02 10:00:01 INFO mlmon.serve: mlmon serve listening on "
           "http://[::1]:40123; tcp=127.0.0.1:40125 unix=/tmp/x.sock; models: fraud:3")


def test_the_announced_port_not_the_requested_port_0() -> None:
    assert announced(PROMETHEUS) == {"http": "127.0.0.1:46107"}
    assert announced(UVICORN) == {"http": "127.0.0.1:45211"}
    assert announced(SIDECAR) == {"http": "[::1]:40123", "tcp": "127.0.0.1:40125"}
    assert announced("mlmon respond: listening on http://127.0.0.1:0 (dry-run)") == {}
    assert announced("starting\n") == {}


def test_sidecar_on_ipv6_port_0_announces_a_url_that_answers(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "exporter", "serve", "--config",
            str(EXAMPLES / "fraud" / "mlmon.yaml"), "--socket", "none", "--http", "[::1]:0",
            "--tcp", "127.0.0.1:0"]
    with serving(argv, tmp_path / "serve.log", "/readyz") as sidecar:
        assert sidecar.url.startswith("http://[::1]:") and sidecar.port > 0
        assert sidecar.address["tcp"].startswith("127.0.0.1:")
        with urllib.request.urlopen(f"{sidecar.url}/healthz", timeout=10) as resp:
            assert resp.status == 200
