"""`mlmon respond` as a real process: start, act, restart, remember; bad config exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from exporter.demo.receivers import HttpReceiver
from exporter.demo.stack_config import responder_argv
from tests.procs import serving
from tests.responder.alerts import alert, body
from tests.responder.service import audit_lines, auth, write_config

MLMON = [sys.executable, "-m", "exporter"]


def post(url: str, data: bytes) -> dict[str, Any]:
    req = urllib.request.Request(f"{url}/v1/alerts", data=data, method="POST", headers=auth())
    with urllib.request.urlopen(req, timeout=30) as resp:
        result: dict[str, Any] = json.loads(resp.read())
        return result


def test_acts_once_across_a_process_restart(tmp_path: Path, sink: HttpReceiver) -> None:
    config = write_config(tmp_path, f"""\
  - name: fraud
    rollback: {{backend: webhook, url: "{sink.url}/rollback"}}
""")
    argv = responder_argv(config, "127.0.0.1:0")  # it announces the port it bound
    with serving(argv, tmp_path / "respond-1.log", "/healthz", timeout=60) as served:
        url = served.url
        assert post(url, body(alert()))["decisions"][0]["result"] == "ok"
        req = urllib.request.Request(f"{url}/v1/alerts", data=body(alert()), method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=30)
        info.value.close()
        assert info.value.code == 401
        with urllib.request.urlopen(f"{url}/metrics", timeout=30) as resp:
            metrics = resp.read().decode()
        assert ('mlmon_responder_actions_total{action="rollback",backend="webhook",'
                'result="ok"} 1.0') in metrics
    with serving(argv, tmp_path / "respond-2.log", "/healthz", timeout=60) as served:
        assert post(served.url, body(alert()))["decisions"][0]["result"] == "skipped_duplicate"
    received = sink.received.snapshot()
    assert len(received) == 1 and received[0].body["model"] == "fraud"
    assert received[0].path == "/rollback"
    assert [x["result"] for x in audit_lines(tmp_path / "state")] == ["ok", "skipped_duplicate"]


def test_dry_run_flag_and_bad_config(tmp_path: Path, sink: HttpReceiver) -> None:
    config = write_config(tmp_path, f"""\
  - name: fraud
    rollback: {{backend: webhook, url: "{sink.url}/rollback", cooldown: soon}}
""")
    proc = subprocess.run([*MLMON, "respond", "--config", str(config)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert f"{config}: models[0].rollback.cooldown: 'soon' is not a duration" in proc.stderr
    config.write_text(config.read_text().replace("cooldown: soon", "cooldown: 1h"))
    argv = responder_argv(config, "127.0.0.1:0", dry_run=True)
    with serving(argv, tmp_path / "respond.log", "/healthz", timeout=60) as served:
        assert post(served.url, body(alert()))["decisions"][0]["result"] == "dry_run"
    assert sink.received.snapshot() == []
    assert "(dry-run)" in (tmp_path / "respond.log").read_text()
