"""`mlmon serve` as a real subprocess: start-up line, SIGTERM drain, restart with state."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from exporter.profile.codec import content_hash, profile_body
from exporter.profile.files import save_profile
from exporter.profile.model import Profile
from tests.factories import fraud_events, fraud_model, fraud_profile
from tests.procs import serving
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


def _argv(cfg: Path, sock: Path, port: int, state: Path) -> list[str]:  # port 0: any
    return [*MLMON, "serve", "--config", str(cfg), "--socket", str(sock),
            "--http", f"127.0.0.1:{port}", "--state-file", str(state)]


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=20)


def test_sigterm_drains_then_restart_restores_everything(tmp_path: Path) -> None:
    cfg = _setup(tmp_path)
    sock, state = tmp_path / "flag.sock", tmp_path / "state.bin"
    state.write_bytes(b"corrupt leftovers")
    log1 = tmp_path / "first.log"
    events = fraud_events(3000)
    with serving(_argv(cfg, sock, 0, state), log1, "/readyz") as served:
        send_unix(sock, ndjson(events))  # the flag wins over server.socket in the file
        assert _stop(served.proc) == 0  # immediately: whatever was sent must be drained
    text = log1.read_text()
    assert f"unix={sock}" in text and f"listening on {served.url};" in text
    assert served.port != 0
    assert "moved to" in text and list(tmp_path.glob("state.bin.corrupt-*"))
    assert state.exists() and not sock.exists()

    log2 = tmp_path / "second.log"
    with serving(_argv(cfg, sock, 0, state), log2, "/readyz") as served:
        url, proc = served.url, served.proc
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


def test_start_up_removes_orphaned_temp_files_and_state_is_private(tmp_path: Path) -> None:
    cfg = _setup(tmp_path)
    sock, state = tmp_path / "flag.sock", tmp_path / "state.bin"
    # what a kill -9 during a save leaves: mkstemp's name for write_atomic's temporary file
    orphan = tmp_path / ".state.bin.k2_x9q0a.tmp"
    unrelated = [tmp_path / ".state.bin.keep", tmp_path / ".other.bin.k2_x9q0a.tmp",
                 tmp_path / "notes.tmp"]
    for p in [orphan, *unrelated]:
        p.write_bytes(b"half a state file")
    log = tmp_path / "serve.log"
    with serving(_argv(cfg, sock, 0, state), log, "/readyz") as served:
        assert not orphan.exists()
        assert all(p.read_bytes() == b"half a state file" for p in unrelated)
        assert _stop(served.proc) == 0
    assert f"removed 1 leftover temporary file(s) of {state}" in log.read_text()
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_failed_final_save_exits_non_zero_naming_the_file(tmp_path: Path) -> None:
    cfg = _setup(tmp_path)
    sock, state = tmp_path / "flag.sock", tmp_path / "state.bin"
    log = tmp_path / "serve.log"
    with serving(_argv(cfg, sock, 0, state), log, "/readyz") as served:
        # a directory where the file goes: the rename fails, even for root
        state.mkdir()
        assert _stop(served.proc) == 1
    text = log.read_text()
    assert f"cannot write state file {state}" in text and "Is a directory" in text
    assert list(tmp_path.glob(".state.bin.*")) == []  # its temporary file is gone too


def _config_and_profile(tmp: Path, features: str, profile: Profile) -> Path:
    save_profile(profile, tmp / "other.json")
    (tmp / "mlmon.yaml").write_text(f"""
models:
  - name: fraud
    version: "1"
    prediction: {{kind: classification, classes: ["0", "1"]}}
    features: {{amount: numeric}}
  - name: fraud
    version: "2"
    profile: other.json
    prediction: {{kind: classification, classes: ["0", "1"]}}
    features: {features}
""")
    return tmp / "mlmon.yaml"


def test_profile_of_another_model_stops_start_up(tmp_path: Path) -> None:
    m = fraud_model()
    other = fraud_profile(m)  # fraud:1, amount/age numeric, country categorical
    renamed = replace(other, model="churn", version="3")
    renamed = replace(renamed, content_hash=content_hash(profile_body(renamed)))
    cfg = _config_and_profile(tmp_path, "{amount: numeric, country: numeric, score: numeric}",
                              renamed)
    out = subprocess.run([*MLMON, "serve", "--config", str(cfg), "--http", "127.0.0.1:0",
                          "--socket", "none"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 2, out.stderr
    prof = tmp_path / "other.json"
    assert f"{prof}: does not match {cfg} models[1] (fraud:2):" in out.stderr
    assert "model churn:3 in the profile but fraud:2 in the config" in out.stderr
    assert "feature 'country' is categorical in the profile but numeric in the config" \
        in out.stderr
    assert "feature 'score' is not in the profile" in out.stderr
    assert "feature 'age' is in the profile but not in the config" in out.stderr
    assert f"rebuild it with `mlmon profile build --config {cfg} --model fraud --version 2" \
        in out.stderr
    assert "Traceback" not in out.stderr


def test_model_without_profile_warns_once_that_drift_is_off(tmp_path: Path) -> None:
    m = fraud_model(version="2")
    cfg = _config_and_profile(tmp_path, "{amount: numeric, age: numeric, country: categorical}",
                              fraud_profile(m))
    log = tmp_path / "serve.log"
    argv = [*MLMON, "serve", "--config", str(cfg), "--http", "127.0.0.1:0",
            "--socket", "none"]
    with serving(argv, log, "/readyz") as served:
        assert _stop(served.proc) == 0
    warnings = [line for line in log.read_text().splitlines() if "drift is off" in line]
    assert len(warnings) == 1, warnings
    assert "WARNING" in warnings[0] and "fraud:1 has no profile" in warnings[0]
    assert str(cfg) in warnings[0] and "mlmon profile build" in warnings[0]
