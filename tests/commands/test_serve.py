"""`mlmon serve` as a real subprocess: start-up line, SIGTERM drain, restart with state."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from exporter.profile.files import save_profile
from tests.factories import fraud_events, fraud_model, fraud_profile
from tests.procs import free_port, running
from tests.sidecar.threaded import ndjson, send_unix

MLMON = [sys.executable, "-m", "exporter"]


def _setup(tmp: Path) -> Path:
    m = fraud_model()
    save_profile(fraud_profile(m), tmp / "fraud.json")
    (tmp / "mlmon.yaml").write_text(f"""
compute_interval: 1s
server:
  socket: {tmp / "cfg.sock"}
  http: "127.0.0.1:1"
  shutdown_timeout: 10s
models:
  - name: fraud
    version: "1"
    profile: fraud.json
    prediction: {{kind: classification, classes: ["0", "1"]}}
    features: {{amount: numeric, age: numeric, country: categorical}}
    window: {{size: 1000}}
    thresholds: {{min_samples: 100}}
    labels: {{ttl: 1h, max_pending: 1000}}
""")
    return tmp / "mlmon.yaml"


def _status(url: str) -> Any:
    with urllib.request.urlopen(url + "/v1/status", timeout=5) as resp:
        return json.loads(resp.read())


def _argv(cfg: Path, sock: Path, port: int, state: Path) -> list[str]:
    return [*MLMON, "serve", "--config", str(cfg), "--socket", str(sock),
            "--http", f"127.0.0.1:{port}", "--state-file", str(state)]


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=20)


def test_sigterm_drains_then_restart_restores_everything(tmp_path: Path) -> None:
    cfg = _setup(tmp_path)
    sock, state, port = tmp_path / "flag.sock", tmp_path / "state.bin", free_port()
    state.write_bytes(b"corrupt leftovers")
    url = f"http://127.0.0.1:{port}"
    log1 = tmp_path / "first.log"
    events = fraud_events(3000)
    with running(_argv(cfg, sock, port, state), log1, url + "/readyz") as proc:
        send_unix(sock, ndjson(events))  # the flag wins over server.socket in the file
        assert _stop(proc) == 0  # immediately: whatever was sent must be drained
    text = log1.read_text()
    assert f"unix={sock}" in text and f"http=http://127.0.0.1:{port}" in text
    assert "moved to" in text and list(tmp_path.glob("state.bin.corrupt-*"))
    assert state.exists() and not sock.exists()

    log2 = tmp_path / "second.log"
    with running(_argv(cfg, sock, port, state), log2, url + "/readyz") as proc:
        fraud = _status(url)["models"][0]
        assert fraud["predictions_total"] == 3000
        assert fraud["window_samples"] == 1000
        # predictions pending before the restart still join their labels
        send_unix(sock, ndjson([{"v": 1, "model": "fraud", "version": "1", "id": f"r{i}",
                                 "label": 1} for i in range(2500, 2510)]))
        deadline = time.monotonic() + 10
        while _status(url)["models"][0]["labels_joined"] < 10:
            assert time.monotonic() < deadline, "labels did not join after restart"
            time.sleep(0.05)
        assert _stop(proc) == 0


def test_bad_config_fails_with_the_file_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: 3\n")
    out = subprocess.run([*MLMON, "serve", "--config", str(bad)], capture_output=True,
                         timeout=60)
    assert out.returncode == 2
    assert str(bad) in out.stderr.decode()


@pytest.mark.parametrize("flag", ["--tcp=0.0.0.0:9999"])
def test_tcp_flag_must_be_loopback(tmp_path: Path, flag: str) -> None:
    cfg = _setup(tmp_path)
    out = subprocess.run([*MLMON, "serve", "--config", str(cfg), flag], capture_output=True,
                         timeout=60)
    assert out.returncode == 2 and b"loopback" in out.stderr


@pytest.mark.parametrize(("flag", "problem"), [
    ("--http=foo", b"expected HOST:PORT"),
    ("--http=127.0.0.1:http", b"is not HOST:PORT"),
    ("--tcp=127.0.0.1:70000", b"is not HOST:PORT"),
])
def test_bad_address_flags_fail_with_the_reason(tmp_path: Path, flag: str,
                                                problem: bytes) -> None:
    cfg = _setup(tmp_path)
    out = subprocess.run([*MLMON, "serve", "--config", str(cfg), flag], capture_output=True,
                         timeout=60)
    assert out.returncode == 2, out.stderr
    assert problem in out.stderr and flag.split("=")[0].encode() in out.stderr
    assert b"Traceback" not in out.stderr


def test_tune_process_freezes_start_up_objects_out_of_the_collector() -> None:
    import subprocess
    import sys

    code = ("import gc, exporter.sidecar.runtime\n"
            "from exporter.commands.serve import tune_process\n"
            "before = gc.get_freeze_count()\n"
            "tune_process()\n"
            "print(before, gc.get_freeze_count(), len(gc.get_objects()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    before, frozen, tracked = map(int, out)
    assert before == 0 and frozen > 10_000  # the imports' objects are frozen...
    assert tracked < frozen / 10  # ...and no longer scanned by a full collection
