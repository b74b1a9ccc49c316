"""What the responder has done: alerts already handled (dedupe) and past actions (cooldown,
daily cap), persisted in one JSON state file. ``admit`` decides whether an alert is acted on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from exporter.responder import jsonfile
from exporter.responder.payload import AlertKey

DAY = 86_400.0
SEEN_RETENTION = 30 * DAY  # longer than any alert keeps firing unchanged in practice
MAX_SEEN = 100_000

SkipResult = Literal["skipped_duplicate", "skipped_cooldown", "skipped_cap"]

# How an admitted action starts:
#   "now":     it runs at once (a rollback);
#   "window":  a new retraining request waits for its window;
#   "pending": the alert joins the retraining request already queued for the model; that is
#              no new action, so cooldown and daily cap do not apply.
When = Literal["now", "window", "pending"]


@dataclass(frozen=True)
class Skip:
    """Why an alert leads to no action."""

    result: SkipResult  # the audit record's result and the actions_total ``result`` label
    reason: str  # the audit record's human-readable reason


@dataclass(frozen=True)
class PastAction:
    model: str
    action: str
    at: float
    dry_run: bool


class ActionHistory:
    def __init__(self, path: Path, history_retention: float = DAY) -> None:
        self.path = path
        self.history_retention = max(DAY, history_retention)
        raw = jsonfile.read(path, {})
        if not isinstance(raw, dict):
            raise jsonfile.StateError(f"{path}: expected a JSON object")
        self._seen: dict[AlertKey, float] = {str(k): float(v)
                                             for k, v in raw.get("seen", {}).items()}
        self._history = [PastAction(str(h["model"]), str(h["action"]), float(h["at"]),
                                    bool(h["dry_run"])) for h in raw.get("history", [])]

    def admit(self, alert: AlertKey, model: str, action: str, now: float, *, cooldown: float,
              daily_cap: int, dry_run: bool, when: When) -> Skip | None:
        """Whether ``alert`` may lead to ``action`` on ``model`` now: a Skip, or None.

        An alert already handled is a duplicate. Otherwise (unless ``when`` is "pending")
        cooldown and daily cap count the past actions of the same model, action and mode:
        dry-run history is kept apart, so trying dry-run never blocks real actions.

        Skipped for cooldown or cap, the alert is marked handled (its repeats are duplicates).
        Admitted with ``when="now"``, the action is recorded at once: should the process die
        mid-action, the cooldown still stops a second one. The caller then marks the alert
        handled (``mark_handled``) when the action succeeded, or drops the entry (``forget``)
        when it failed, so that Alertmanager's next repeat tries again. Admitted with "window"
        or "pending", the alert is handled by being queued: it is marked handled now, and the
        retraining is recorded (``record``) when its window starts it.
        """
        if alert in self._seen:
            return Skip("skipped_duplicate", f"alert {alert} was already handled")
        skip = (None if when == "pending"
                else self._limit(model, action, now, cooldown, daily_cap, dry_run))
        if skip is None and when == "now":
            self.record(model, action, now, dry_run)
        else:
            self.mark_handled(alert, now)
        return skip

    def mark_handled(self, alert: AlertKey, now: float) -> None:
        self._seen[alert] = now
        self._prune(now)
        self._save()

    def record(self, model: str, action: str, now: float, dry_run: bool) -> None:
        """An action started (counts for cooldown and daily cap)."""
        self._history.append(PastAction(model, action, now, dry_run))
        self._prune(now)
        self._save()

    def forget(self, model: str, action: str, at: float, dry_run: bool) -> None:
        """Drop one recorded action (an attempt that failed)."""
        entry = PastAction(model, action, at, dry_run)
        if entry in self._history:
            self._history.remove(entry)
            self._save()

    def handled(self, alert: AlertKey) -> bool:
        return alert in self._seen

    def last(self, model: str, action: str, dry_run: bool) -> float | None:
        times = [h.at for h in self._matching(model, action, dry_run)]
        return max(times) if times else None

    def count_since(self, model: str, action: str, since: float, dry_run: bool) -> int:
        return sum(1 for h in self._matching(model, action, dry_run) if h.at > since)

    def _limit(self, model: str, action: str, now: float, cooldown: float, daily_cap: int,
               dry_run: bool) -> Skip | None:
        last = self.last(model, action, dry_run)
        if last is not None and now - last < cooldown:
            return Skip("skipped_cooldown", f"last {action} of {model} was {now - last:.0f}s "
                        f"ago; cooldown is {cooldown:.0f}s")
        count = self.count_since(model, action, now - DAY, dry_run)
        if count >= daily_cap:
            return Skip("skipped_cap", f"{count} {action} action(s) for {model} in the last "
                        f"24h; daily_cap is {daily_cap}")
        return None

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
