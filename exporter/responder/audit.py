"""Append-only JSONL audit log: one line per decision, flushed and fsynced."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


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

    def to_json(self) -> str:
        data = {"time": datetime.fromtimestamp(self.ts, tz=UTC).isoformat(), **asdict(self)}
        return json.dumps(data, sort_keys=True, ensure_ascii=False)


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: AuditRecord) -> None:
        # O_APPEND: each line lands whole at the end, never overwriting earlier lines.
        with self.path.open("a", encoding="utf-8") as f:
            f.write(record.to_json() + "\n")
            f.flush()
            os.fsync(f.fileno())
