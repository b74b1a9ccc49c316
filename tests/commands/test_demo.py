"""`mlmon demo` end to end: a real sidecar subprocess, the tap, drift reaching high severity."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

from exporter.cli import main
from exporter.commands import demo
from exporter.commands.demo import _http_address

MLMON = [sys.executable, "-m", "exporter"]


def _summaries(out: str) -> list[str]:
    return out.split("── mlmon demo")[1:]


def _severity(block: str, feature: str) -> str | None:
    # name kind samples PSI upper floor p-value significant severity
    m = re.search(rf"^\s+{feature}\s+\w+\s+\d+(?:\s+\S+){{5}}\s+(\w+)", block, re.M)
    return m.group(1) if m else None


def _accuracy(block: str) -> float | None:
    m = re.search(r"accuracy (\d\.\d+)", block)
    return float(m.group(1)) if m else None


@pytest.mark.slow
def test_drift_reaches_high_severity_and_accuracy_drops() -> None:
    proc = subprocess.run(
        [*MLMON, "demo", "--duration", "25", "--drift-after", "8", "--rate", "400",
         "--label-delay", "2", "--compute-interval", "1", "--summary-every", "4",
         "--http", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=120)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert re.search(r"metrics: http://127\.0\.0\.1:[1-9]\d*/metrics", out), out
    blocks = _summaries(out)
    assert len(blocks) >= 5
    first, last = blocks[0], blocks[-1]
    assert "drift: off (starts at 8s)" in first
    assert "drift: ON since 8s" in last
    # Before drift every feature is low; at the end the drifted ones are high.
    assert _severity(first, "amount") in ("low", None)
    assert _severity(last, "amount") == "HIGH"
    assert _severity(last, "country") == "HIGH"
    for undrifted in ("age", "tenure_days", "hour", "distance_km", "balance", "channel"):
        assert _severity(last, undrifted) == "low", last
    assert _severity(last, "__prediction__") in ("low", "MEDIUM", "HIGH")  # its row shown
    # Labels join; the covariate shift takes the estimated accuracy below the 0.8 floor
    # (0.96 -> about 0.78) and realized accuracy follows as the labels arrive.
    early = next(a for a in map(_accuracy, blocks) if a is not None)
    estimate = re.search(r"estimated accuracy (\d\.\d+) vs", last)
    assert estimate is not None and float(estimate.group(1)) < 0.8, last
    assert early > 0.9 and (_accuracy(last) or 1.0) < 0.9
    assert "client drops 0" in last and "rejected 0" in last
    assert re.search(r"sidecar exit code 0$", out.strip())


@pytest.mark.slow
def test_ctrl_c_stops_the_sidecar_cleanly() -> None:
    proc = subprocess.Popen([*MLMON, "demo", "--http", "127.0.0.1:0", "--rate", "50"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("mlmon demo: sidecar ready"), first
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert re.search(r"sent \d+ predictions .* 0 dropped\); sidecar exit code 0", out), out


def test_bad_settings_fail_clearly() -> None:
    proc = subprocess.run([*MLMON, "demo", "--rate", "0"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "--rate must be positive" in proc.stderr
    proc = subprocess.run([*MLMON, "demo", "--model", "nope"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "no model 'nope'" in proc.stderr


def test_an_asked_address_is_kept_and_a_taken_default_becomes_port_zero(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert _http_address("127.0.0.1:9999") == "127.0.0.1:9999"
    assert _http_address("127.0.0.1:0") == "127.0.0.1:0"
    monkeypatch.setattr(demo, "_port_free", lambda address: False)
    assert _http_address(None) == demo.DEFAULT_HTTP.rpartition(":")[0] + ":0"


@pytest.mark.parametrize(("requested", "pattern"), [
    ("127.0.0.1:0", r"metrics: http://127\.0\.0\.1:(\d+)/metrics"),
    ("[::1]:0", r"metrics: http://\[::1\]:(\d+)/metrics"),
])
def test_port_zero_is_the_port_the_sidecar_announces(
        requested: str, pattern: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No free_port race: the sidecar binds port 0 and the demo lists (and polls) the port
    the kernel gave it. The listed URL answers while the demo runs: the summary's figures
    come from its /v1/status."""
    code = main(["demo", "--duration", "2", "--rate", "50", "--http", requested,
                 "--summary-every", "1", "--compute-interval", "0.5"])
    out = capsys.readouterr().out
    assert code == 0, out
    listed = re.search(pattern, out)
    assert listed is not None and int(listed.group(1)) > 0, out
    assert re.search(r"sent \d+ predictions", out) and "sidecar exit code 0" in out, out
