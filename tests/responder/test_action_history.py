"""Action history (dedupe, cooldown, daily cap) and retrain queue; both survive a reload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporter.responder.action_history import DAY, ActionHistory, Skip, When
from exporter.responder.jsonfile import StateError
from exporter.responder.retrain_queue import RetrainQueue, RetrainRequest


def test_history_round_trip_and_windows(tmp_path: Path) -> None:
    s = ActionHistory(tmp_path / "state.json")
    s.mark_handled("fp@t", 100.0)
    s.record("fraud", "rollback", 100.0, dry_run=False)
    s.record("fraud", "rollback", 200.0, dry_run=False)
    s.record("fraud", "rollback", 300.0, dry_run=True)
    again = ActionHistory(tmp_path / "state.json")
    assert again.handled("fp@t") and not again.handled("fp@other")
    assert again.last("fraud", "rollback", dry_run=False) == 200.0
    assert again.last("fraud", "rollback", dry_run=True) == 300.0
    assert again.last("fraud", "retrain", dry_run=False) is None
    assert again.count_since("fraud", "rollback", 150.0, dry_run=False) == 1
    # History older than a day is dropped on the next write.
    again.record("fraud", "rollback", 200.0 + DAY + 1, dry_run=False)
    assert ActionHistory(tmp_path / "state.json").count_since("fraud", "rollback", 0.0, False) == 1


def test_corrupt_state_is_an_error_not_a_silent_reset(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{truncated")
    with pytest.raises(StateError, match=r"state\.json: not valid JSON"):
        ActionHistory(tmp_path / "state.json")


# A state file exactly as the responder has always written it (jsonfile.write: sorted keys,
# no spaces): handled alerts by key with the time handled, past actions oldest first.
STATE = ('{"history":[{"action":"rollback","at":1000.0,"dry_run":false,"model":"fraud"},'
         '{"action":"retrain","at":1500.0,"dry_run":true,"model":"fraud"}],'
         '"seen":{"f00d@2026-11-25T23:50:00+00:00":1000.0}}')


def admit(h: ActionHistory, alert: str, now: float, action: str = "rollback", *,
          cooldown: float = 600.0, daily_cap: int = 3, dry_run: bool = False,
          when: When = "now") -> Skip | None:
    return h.admit(alert, "fraud", action, now, cooldown=cooldown, daily_cap=daily_cap,
                   dry_run=dry_run, when=when)


def test_a_state_file_in_the_existing_format_loads_and_is_written_back_alike(
        tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(STATE)
    h = ActionHistory(path)
    assert h.handled("f00d@2026-11-25T23:50:00+00:00")
    assert h.last("fraud", "rollback", dry_run=False) == 1000.0
    assert h.last("fraud", "retrain", dry_run=True) == 1500.0
    assert h.last("fraud", "retrain", dry_run=False) is None
    assert admit(h, "f00d@2026-11-25T23:50:00+00:00", 1100.0) == Skip(
        "skipped_duplicate", "alert f00d@2026-11-25T23:50:00+00:00 was already handled")
    assert path.read_text() == STATE  # a duplicate changes nothing
    assert admit(h, "beef@t", 1100.0) == Skip(
        "skipped_cooldown", "last rollback of fraud was 100s ago; cooldown is 600s")
    assert json.loads(path.read_text()) == {**json.loads(STATE), "seen": {
        "f00d@2026-11-25T23:50:00+00:00": 1000.0, "beef@t": 1100.0}}
    assert admit(h, "cafe@t", 1700.0) is None  # admitted: recorded at once, not yet handled
    assert path.read_text() == (
        '{"history":[{"action":"rollback","at":1000.0,"dry_run":false,"model":"fraud"},'
        '{"action":"retrain","at":1500.0,"dry_run":true,"model":"fraud"},'
        '{"action":"rollback","at":1700.0,"dry_run":false,"model":"fraud"}],'
        '"seen":{"beef@t":1100.0,"f00d@2026-11-25T23:50:00+00:00":1000.0}}')


def test_admit_checks_duplicate_then_cooldown_then_daily_cap(tmp_path: Path) -> None:
    h = ActionHistory(tmp_path / "state.json")
    assert admit(h, "a@1", 0.0, cooldown=60.0, daily_cap=2) is None
    assert not h.handled("a@1")  # a rollback is handled once it succeeded
    h.mark_handled("a@1", 5.0)
    assert admit(h, "a@1", 10.0) == Skip("skipped_duplicate", "alert a@1 was already handled")
    assert admit(h, "b@1", 30.0, cooldown=60.0, daily_cap=2) == Skip(
        "skipped_cooldown", "last rollback of fraud was 30s ago; cooldown is 60s")
    assert h.handled("b@1")  # a skipped alert is handled: its repeats are duplicates
    assert admit(h, "c@1", 60.0, cooldown=60.0, daily_cap=2) is None
    assert admit(h, "d@1", 200.0, cooldown=60.0, daily_cap=2) == Skip(
        "skipped_cap", "2 rollback action(s) for fraud in the last 24h; daily_cap is 2")
    assert h.count_since("fraud", "rollback", -1.0, dry_run=False) == 2
    assert admit(h, "e@1", DAY + 1.0, cooldown=60.0, daily_cap=2) is None  # 0.0 is a day old
    # Dry-run history is kept apart: the real actions above do not count against dry-run.
    assert admit(h, "f@1", DAY + 2.0, cooldown=60.0, daily_cap=2, dry_run=True) is None
    assert h.last("fraud", "rollback", dry_run=True) == DAY + 2.0
    assert h.last("fraud", "rollback", dry_run=False) == DAY + 1.0


def test_admit_queued_and_pending_retraining(tmp_path: Path) -> None:
    h = ActionHistory(tmp_path / "state.json")
    h.record("fraud", "retrain", 0.0, dry_run=False)
    # A new request obeys the cooldown; joining the pending one is no new action.
    assert admit(h, "a@1", 10.0, "retrain", when="window") == Skip(
        "skipped_cooldown", "last retrain of fraud was 10s ago; cooldown is 600s")
    assert admit(h, "b@1", 10.0, "retrain", when="pending") is None
    assert admit(h, "c@1", 700.0, "retrain", when="window") is None
    # Queued alerts are handled at once; the run is recorded when it starts, not here.
    assert h.handled("b@1") and h.handled("c@1")
    assert h.count_since("fraud", "retrain", -1.0, dry_run=False) == 1
    assert admit(h, "b@1", 800.0, "retrain", when="pending") == Skip(
        "skipped_duplicate", "alert b@1 was already handled")


def test_forget_undoes_a_failed_attempt(tmp_path: Path) -> None:
    h = ActionHistory(tmp_path / "state.json")
    assert admit(h, "a@1", 100.0) is None
    h.forget("fraud", "rollback", 100.0, dry_run=False)
    assert ActionHistory(tmp_path / "state.json").last("fraud", "rollback", False) is None
    assert admit(h, "a@1", 101.0) is None  # tried again, not a duplicate nor cooling down


def test_queue_dedupes_per_model_and_persists(tmp_path: Path) -> None:
    q = RetrainQueue(tmp_path / "q.json")
    first = RetrainRequest("fraud", "3", "Drift", 10.0, 7200.0, "00 02 * * *", ("a@1",))
    assert q.add(first) == (first, False)
    merged = q.merge("fraud", "b@2")
    assert merged is not None and merged.alerts == ("a@1", "b@2")
    assert merged.scheduled_at == 7200.0
    assert q.merge("housing", "c@3") is None
    q.add(RetrainRequest("housing", "1", "Drift", 11.0, 60.0, "immediate", ("c@3",)))
    reloaded = RetrainQueue(tmp_path / "q.json")
    assert [r.model for r in reloaded.pending()] == ["housing", "fraud"]  # by schedule
    assert [r.model for r in reloaded.due(100.0)] == ["housing"]
    reloaded.remove("housing")
    assert len(RetrainQueue(tmp_path / "q.json")) == 1
