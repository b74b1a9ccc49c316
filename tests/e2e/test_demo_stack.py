"""`mlmon demo --stack` in a subprocess: the alert timeline shows the injected drift paging
and the dry-run responder deciding a rollback; everything it started is stopped.

No fixed time budget: the demo runs until stopped, and the test waits for each event
(the drift alert firing in Prometheus, its notifications, the responder's dry-run
decision) with its own deadline, failing with the name of the event that did not happen;
then it stops the demo with SIGTERM, as Ctrl-C would.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.loop_support import FRAUD, sidecar_config
from tests.procs import require_binary

pytestmark = pytest.mark.e2e

DRIFT_PAGE = re.compile(r"FIRING +MlmonFeatureDriftHigh model=fraud version=3 "
                        r"feature=(amount|country) severity=critical action=notify")
DRY_RUN = re.compile(r"responder: dry_run rollback of model fraud "
                     r"\(MlmonAccuracyBelowFloor firing; dry_run")
LISTED = re.compile(r"^  (prometheus|alertmanager|responder): (http://\S+)$", re.M)


class Demo:
    """The demo's stdout, read as it grows; ``wait`` for an event with a deadline."""

    def __init__(self, proc: subprocess.Popen[bytes], out: Path, err: Path) -> None:
        self.proc, self.out, self.err = proc, out, err
        self.started = time.monotonic()
        self.seen: dict[str, float] = {}  # event -> seconds after the demo started

    def text(self) -> str:
        return self.out.read_text(errors="replace")

    def wait(self, event: str, seen: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if seen(text):
                self.seen[event] = time.monotonic() - self.started
                return text
            if self.proc.poll() is not None:
                raise AssertionError(f"the demo exited ({self.proc.returncode}) before: "
                                     f"{event}\n{text}\n{self.err.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout:.0f}s: {event}\n{text}")
            time.sleep(0.2)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def test_stack_demo_prints_drift_page_and_dry_run_rollback(tmp_path: Path) -> None:
    require_binary("prometheus")
    require_binary("prometheus-alertmanager")
    config = sidecar_config(tmp_path / "mlmon.yaml")  # small windows: turns over in seconds
    argv = [sys.executable, "-m", "exporter", "demo", "--stack",  # no --duration: until stopped
            "--drift-after", "8", "--rate", "300", "--config", str(config),
            "--reference", str(FRAUD / "reference.csv"), "--http", "127.0.0.1:0",
            "--compute-interval", "1", "--summary-every", "10"]
    out, err = tmp_path / "demo.out", tmp_path / "demo.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, cwd=tmp_path)
    demo = Demo(proc, out, err)
    try:
        text = demo.wait("the stack started and listed its URLs",
                         lambda t: len(LISTED.findall(t)) == 3, 120)
        urls = dict(LISTED.findall(text))
        prometheus = urls["prometheus"].removesuffix("/classic/alerts")
        # Injected drift on amount and country pages; the accuracy alert reaches the
        # responder, which decides a rollback and, in dry-run, executes nothing.
        demo.wait("MlmonFeatureDriftHigh firing on amount or country (timeline)",
                  lambda t: DRIFT_PAGE.search(t) is not None, 120)
        firing = json.loads(_get(f"{prometheus}/api/v1/alerts"))["data"]["alerts"]
        assert any(a["labels"]["alertname"] == "MlmonFeatureDriftHigh"
                   and a["state"] == "firing" for a in firing), firing  # Prometheus agrees
        demo.wait("the Slack notification of the drift page",
                  lambda t: "→ Slack #mlmon-critical: [FIRING" in t, 60)
        demo.wait("the email to the model's owners",
                  lambda t: "→ email to ml-fraud-owners@example.com: [FIRING" in t, 60)
        demo.wait("MlmonAccuracyBelowFloor paged on PagerDuty",
                  lambda t: "→ PagerDuty trigger (critical): MlmonAccuracyBelowFloor" in t, 120)
        demo.wait("the responder's dry-run rollback decision (audit log)",
                  lambda t: DRY_RUN.search(t) is not None, 60)
        actions = _get(urls["responder"]).decode()  # the responder's own /metrics
        assert re.search(r'^mlmon_responder_actions_total\{action="rollback",[^}]*'
                         r'result="dry_run"[^}]*\} [1-9]', actions, re.M), actions
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # what Ctrl-C does: stop in order
        code = proc.wait(60)
    text = demo.text()
    print("\n" + "\n".join(f"{t:5.1f} s  {event}" for event, t in demo.seen.items()))
    assert code == 0, text + err.read_text()
    assert "responder: acted" not in text
    assert "POST /rollback" not in text  # the rollback webhook is never called

    # Every service it listed is down after it returned.
    for url in urls.values():
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=2).close()


def test_stack_demo_names_missing_binaries(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # nothing on PATH
    done = subprocess.run([sys.executable, "-m", "exporter", "demo", "--stack",
                           "--duration", "1"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 2
    assert "prometheus and prometheus-alertmanager not found on PATH" in done.stderr
