"""`mlmon demo` end to end: a real sidecar subprocess, the tap, drift reaching high severity."""

from __future__ import annotations

import re
import signal
import socket
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


@pytest.mark.parametrize(("requested", "family", "host"), [
    ("127.0.0.1:0", socket.AF_INET, "127.0.0.1"),
    ("[::1]:0", socket.AF_INET6, "::1"),
])
def test_port_zero_becomes_a_free_port_on_the_same_host(requested: str, family: int,
                                                         host: str) -> None:
    address = _http_address(requested)
    prefix, _, port = address.rpartition(":")
    assert prefix == requested.rpartition(":")[0] and int(port) > 0
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, int(port)))  # free: a listener could take it


def test_an_explicit_port_is_kept() -> None:
    assert _http_address("127.0.0.1:9999") == "127.0.0.1:9999"


def test_a_picked_port_taken_before_the_sidecar_binds_it_is_replaced(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """free_port's race, forced: the first port the demo picks is taken by the time the
    sidecar binds it; the demo retries on a new port instead of failing."""
    real = demo._http_address
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        picks = iter([f"127.0.0.1:{port}"])
        monkeypatch.setattr(demo, "_http_address",
                            lambda requested: next(picks, None) or real(requested))
        code = main(["demo", "--duration", "1", "--rate", "50", "--http", "127.0.0.1:0"])
    out = capsys.readouterr().out
    assert code == 0, out
    listed = re.search(r"metrics: http://127\.0\.0\.1:(\d+)/metrics", out)
    assert listed is not None, out
    assert int(listed.group(1)) not in (0, port)
