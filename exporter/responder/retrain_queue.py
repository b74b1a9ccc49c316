"""Persisted retraining queue: one pending request per model, started at its window."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from exporter.responder import jsonfile
from exporter.responder.payload import AlertKey


@dataclass(frozen=True)
class RetrainRequest:
    model: str
    version: str
    alertname: str
    queued_at: float
    scheduled_at: float
    window: str
    alerts: tuple[AlertKey, ...]  # the alerts merged into this request


class RetrainQueue:
    def __init__(self, path: Path) -> None:
        self.path = path
        raw = jsonfile.read(path, [])
        if not isinstance(raw, list):
            raise jsonfile.StateError(f"{path}: expected a JSON list")
        self._items: dict[str, RetrainRequest] = {}
        for item in raw:
            request = RetrainRequest(**{**item, "alerts": tuple(item["alerts"])})
            self._items[request.model] = request

    def add(self, request: RetrainRequest) -> tuple[RetrainRequest, bool]:
        """Queue a request; if the model already has one, merge into it (True)."""
        existing = self._items.get(request.model)
        if existing is not None:
            merged = replace(existing, alerts=(*existing.alerts, *request.alerts))
            self._items[request.model] = merged
            self._save()
            return merged, True
        self._items[request.model] = request
        self._save()
        return request, False

    def merge(self, model: str, alert_key: AlertKey) -> RetrainRequest | None:
        """Add an alert to the model's pending request, if it has one."""
        existing = self._items.get(model)
        if existing is None:
            return None
        return self.add(replace(existing, alerts=(alert_key,)))[0]

    def pending(self) -> list[RetrainRequest]:
        return sorted(self._items.values(), key=lambda r: (r.scheduled_at, r.model))

    def due(self, now: float) -> list[RetrainRequest]:
        return [r for r in self.pending() if r.scheduled_at <= now]

    def remove(self, model: str) -> None:
        if self._items.pop(model, None) is not None:
            self._save()

    def __contains__(self, model: object) -> bool:
        """Whether ``model`` has a pending request."""
        return model in self._items

    def __len__(self) -> int:
        return len(self._items)

    def _save(self) -> None:
        jsonfile.write(self.path, [{**asdict(r), "alerts": list(r.alerts)}
                                   for r in self.pending()])
