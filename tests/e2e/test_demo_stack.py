"""`mlmon demo --stack` in a subprocess: the alert timeline shows the injected drift paging
and the dry-run responder deciding a rollback; everything it started is stopped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.loop_support import FRAUD, sidecar_config
from tests.procs import require_binary

pytestmark = pytest.mark.e2e


def test_stack_demo_prints_drift_page_and_dry_run_rollback(tmp_path: Path) -> None:
    require_binary("prometheus")
    require_binary("prometheus-alertmanager")
    config = sidecar_config(tmp_path / "mlmon.yaml")  # small windows: turns over in seconds
    argv = [sys.executable, "-m", "exporter", "demo", "--stack", "--duration", "40",
            "--drift-after", "8", "--rate", "300", "--config", str(config),
            "--reference", str(FRAUD / "reference.csv"), "--http", "127.0.0.1:0",
            "--compute-interval", "1", "--summary-every", "10"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=150, cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr

    # Injected drift on amount and country pages; the accuracy alert reaches the responder,
    # which decides a rollback and, in dry-run, executes nothing.
    assert re.search(r"FIRING +MlmonFeatureDriftHigh model=fraud version=3 "
                     r"feature=(amount|country) severity=critical action=notify", out), out
    assert "→ Slack #mlmon-critical: [FIRING" in out
    assert "→ PagerDuty trigger (critical): MlmonAccuracyBelowFloor" in out
    assert "→ email to ml-fraud-owners@example.com: [FIRING" in out
    assert re.search(r"responder: dry_run rollback of model fraud "
                     r"\(MlmonAccuracyBelowFloor firing; dry_run", out), out
    assert "responder: acted" not in out
    assert "POST /rollback" not in out  # the rollback webhook is never called

    # Every service it listed is down after it returned.
    urls = re.findall(r"^  (?:prometheus|alertmanager|responder): (http://\S+)$", out, re.M)
    assert len(urls) == 3
    for url in urls:
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=2).close()


def test_stack_demo_names_missing_binaries(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # nothing on PATH
    done = subprocess.run([sys.executable, "-m", "exporter", "demo", "--stack",
                           "--duration", "1"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 2
    assert "prometheus and prometheus-alertmanager not found on PATH" in done.stderr
