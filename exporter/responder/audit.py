"""Append-only JSONL audit log: one line per decision, flushed and fsynced.

A record's free text (``reason``, ``detail``) keeps only the scheme and host of any URL
(``exporter.responder.redact``): the record is what the log, the audit file and the
webhook reply show.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from exporter.responder.redact import redact


@dataclass(frozen=True)
class AuditRecord:
    ts: float
    decision: str  # acted, skipped, failed, queued, dry_run
    result: str
    reason: str
    model: str
    action: str
    backend: str
    alertname: str = ""
    fingerprint: str = ""
    starts_at: str = ""
    status: str = ""
    detail: str = ""
    attempts: int = 0
    dry_run: bool = False

    def __post_init__(self) -> None:
        # Backend errors and replies may quote a secret-bearing URL; never keep it.
        object.__setattr__(self, "reason", redact(self.reason))
        object.__setattr__(self, "detail", redact(self.detail))

    def to_json(self) -> str:
        data = {"time": datetime.fromtimestamp(self.ts, tz=UTC).isoformat(), **asdict(self)}
        return json.dumps(data, sort_keys=True, ensure_ascii=False)


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: AuditRecord) -> None:
        # O_APPEND: each line lands whole at the end, never overwriting earlier lines;
        # created 0600, as the audit trail names alerts, models and backends.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(record.to_json() + "\n")
            f.flush()
            os.fsync(f.fileno())
