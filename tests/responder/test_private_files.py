"""The responder's state and audit files hold alert data: only their owner may read them."""

from __future__ import annotations

import stat
from pathlib import Path

from exporter.responder.action_history import ActionHistory
from exporter.responder.audit import AuditLog, AuditRecord
from exporter.responder.retrain_queue import RetrainQueue, RetrainRequest


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_files_are_written_0600(tmp_path: Path) -> None:
    history = ActionHistory(tmp_path / "history.json")
    history.record("fraud", "rollback", 1000.0, dry_run=False)
    RetrainQueue(tmp_path / "queue.json").add(
        RetrainRequest("fraud", "3", "MlmonDrift", 1000.0, 2000.0, "02:00-04:00", ("fp@1",)))
    assert {p.name: _mode(p) for p in tmp_path.iterdir()} == {"history.json": 0o600,
                                                              "queue.json": 0o600}


def test_the_audit_log_is_created_0600_and_appended(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit" / "audit.jsonl")
    record = AuditRecord(ts=1000.0, decision="acted", result="ok", reason="rolled back",
                         model="fraud", action="rollback", backend="webhook")
    log.write(record)
    log.write(record)
    path = tmp_path / "audit" / "audit.jsonl"
    assert _mode(path) == 0o600
    assert path.read_text(encoding="utf-8").count("\n") == 2
