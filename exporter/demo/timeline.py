"""The alert timeline of `mlmon demo --stack`, printed as it happens.

Three sources: Prometheus' alerts (polled from ``/api/v1/alerts``: firing, then
resolved; pending ones are not shown), the notifications the loopback receivers get
(Slack, PagerDuty, email), and the responder's decisions (new lines of its audit log).
Each line goes through an :class:`EventLog`, which also keeps the last ones: the summary
redraws them under its table, so a cleared screen does not hide them (summary.py).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from exporter.demo.receivers import Mail, Request

AlertKey = tuple[tuple[str, str], ...]
# Labels every mlmon alert has; the rest (feature, instance, ...) tell alerts apart.
_SHOWN_FIRST = ("alertname", "model", "version", "feature", "severity", "action")


def describe_alert(labels: dict[str, str]) -> str:
    rest = [f"{k}={labels[k]}" for k in _SHOWN_FIRST[1:] if k in labels]
    return f"{labels.get('alertname', '?')} {' '.join(rest)}"


def describe_request(request: Request) -> str:
    """A received Slack or PagerDuty notification, or any other POST, on one line."""
    body = request.body if isinstance(request.body, dict) else {}
    if "attachments" in body:
        attachment = (body.get("attachments") or [{}])[0]
        return f"Slack {body.get('channel', '?')}: {attachment.get('title', '')}"
    if "event_action" in body:
        payload = body.get("payload") or {}
        return (f"PagerDuty {body['event_action']} ({payload.get('severity', '?')}): "
                f"{payload.get('summary', '')}")
    return f"POST {request.path}: {json.dumps(body)[:200]}"


def describe_mail(mail: Mail) -> str:
    return f"email to {', '.join(mail.recipients)}: {mail.message['Subject']}"


def describe_decision(record: dict[str, Any]) -> str:
    detail = f" — {record['detail']}" if record.get("detail") else ""
    return (f"responder: {record.get('decision')} {record.get('action')} of model "
            f"{record.get('model')} ({record.get('alertname')} {record.get('status')}; "
            f"{record.get('result')}: {record.get('reason')}){detail}")


class EventLog:
    """Timeline lines, stamped: each printed when it happens and the last ``keep`` kept
    (``total`` counts them all). ``lock`` (reentrant) serializes writes to ``out`` across
    threads: hold it to write something no timeline line may interleave with."""

    def __init__(self, out: TextIO, wall: Callable[[], float] = time.time,
                 keep: int = 1000) -> None:
        self.out = out
        self.wall = wall
        self.lock = threading.RLock()
        self.total = 0
        self._kept: deque[str] = deque(maxlen=keep)

    def note(self, text: str) -> None:
        line = f"{time.strftime('%H:%M:%S', time.localtime(self.wall()))} {text}"
        with self.lock:
            self._kept.append(line)
            self.total += 1
            self.out.write(line + "\n")
            self.out.flush()

    def lines(self) -> list[str]:
        """The kept lines, oldest first (``total - len(lines())`` earlier ones dropped)."""
        with self.lock:
            return list(self._kept)


class Timeline:
    """Polls Prometheus and the audit log in a thread; receivers call ``note_*``."""

    name = "timeline"

    def __init__(self, prometheus: str, audit_log: Path, out: TextIO,
                 interval: float = 0.5, wall: Callable[[], float] = time.time,
                 log: EventLog | None = None) -> None:
        self.prometheus = prometheus
        self.audit_log = audit_log
        self.log = log if log is not None else EventLog(out, wall)
        self.interval = interval
        self._firing: set[AlertKey] = set()  # shown as firing, not yet as resolved
        self._audit_offset = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def note(self, text: str) -> None:
        self.log.note(text)

    def note_request(self, request: Request) -> None:
        self.note("  → " + describe_request(request))

    def note_mail(self, mail: Mail) -> None:
        self.note("  → " + describe_mail(mail))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> int | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.poll()  # the last decisions and transitions before the stack went down
        return 0

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def urls(self) -> dict[str, str]:
        return {}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def poll(self) -> None:
        self._poll_alerts()
        self._poll_audit()

    def _poll_alerts(self) -> None:
        try:
            with urllib.request.urlopen(f"{self.prometheus}/api/v1/alerts", timeout=5) as resp:
                alerts = json.loads(resp.read())["data"]["alerts"]
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            return  # Prometheus stopping or not up yet: the next poll catches up
        firing: dict[AlertKey, tuple[dict[str, str], str]] = {}
        for alert in alerts:
            if alert.get("state") != "firing":
                continue  # pending (waiting out its `for`): not shown
            labels: dict[str, str] = alert.get("labels", {})
            value = (alert.get("annotations") or {}).get("value", "")
            firing[tuple(sorted(labels.items()))] = (labels, value)
        for key, (labels, value) in firing.items():
            if key not in self._firing:
                shown = f" (value {value})" if value else ""
                self.note(f"FIRING   {describe_alert(labels)}{shown}")
                self._firing.add(key)
        for key in self._firing - firing.keys():
            self._firing.remove(key)
            self.note(f"RESOLVED {describe_alert(dict(key))}")

    def _poll_audit(self) -> None:
        try:
            with self.audit_log.open("rb") as handle:
                handle.seek(self._audit_offset)
                data = handle.read()
        except OSError:
            return
        complete = data[:data.rfind(b"\n") + 1]  # a line still being written waits
        self._audit_offset += len(complete)
        for line in complete.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            self.note(describe_decision(record))
