"""Persisted memory of handled alerts (dedupe) and of past actions (cooldown, cap)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exporter.responder import jsonfile

DAY = 86_400.0
SEEN_RETENTION = 30 * DAY  # longer than any alert keeps firing unchanged in practice
MAX_SEEN = 100_000


@dataclass(frozen=True)
class PastAction:
    model: str
    action: str
    at: float
    dry_run: bool


class Store:
    def __init__(self, path: Path, history_retention: float = DAY) -> None:
        self.path = path
        self.history_retention = max(DAY, history_retention)
        raw = jsonfile.read(path, {})
        if not isinstance(raw, dict):
            raise jsonfile.StateError(f"{path}: expected a JSON object")
        self._seen: dict[str, float] = {str(k): float(v) for k, v in raw.get("seen", {}).items()}
        self._history = [PastAction(str(h["model"]), str(h["action"]), float(h["at"]),
                                    bool(h["dry_run"])) for h in raw.get("history", [])]

    def seen(self, key: str) -> bool:
        return key in self._seen

    def mark(self, key: str, now: float) -> None:
        self._seen[key] = now
        self._prune(now)
        self._save()

    def record(self, model: str, action: str, now: float, dry_run: bool) -> None:
        self._history.append(PastAction(model, action, now, dry_run))
        self._prune(now)
        self._save()

    def forget(self, model: str, action: str, at: float, dry_run: bool) -> None:
        """Drop one recorded action (an attempt that failed)."""
        entry = PastAction(model, action, at, dry_run)
        if entry in self._history:
            self._history.remove(entry)
            self._save()

    def last(self, model: str, action: str, dry_run: bool) -> float | None:
        times = [h.at for h in self._matching(model, action, dry_run)]
        return max(times) if times else None

    def count_since(self, model: str, action: str, since: float, dry_run: bool) -> int:
        return sum(1 for h in self._matching(model, action, dry_run) if h.at > since)

    def _matching(self, model: str, action: str, dry_run: bool) -> list[PastAction]:
        # Dry-run history is kept apart so that trying dry-run never blocks real actions.
        return [h for h in self._history
                if h.model == model and h.action == action and h.dry_run == dry_run]

    def _prune(self, now: float) -> None:
        self._history = [h for h in self._history if h.at > now - self.history_retention]
        if len(self._seen) > MAX_SEEN or any(t < now - SEEN_RETENTION
                                             for t in self._seen.values()):
            kept = sorted(((t, k) for k, t in self._seen.items() if t >= now - SEEN_RETENTION),
                          reverse=True)[:MAX_SEEN]
            self._seen = {k: t for t, k in kept}

    def _save(self) -> None:
        jsonfile.write(self.path, {
            "seen": self._seen,
            "history": [{"model": h.model, "action": h.action, "at": h.at,
                         "dry_run": h.dry_run} for h in self._history],
        })
