"""Dedupe store, action history and retrain queue survive a reload from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.responder.jsonfile import StateError
from exporter.responder.retrain_queue import RetrainQueue, RetrainRequest
from exporter.responder.store import DAY, Store


def test_store_round_trip_and_windows(tmp_path: Path) -> None:
    s = Store(tmp_path / "state.json")
    s.mark("fp@t", 100.0)
    s.record("fraud", "rollback", 100.0, dry_run=False)
    s.record("fraud", "rollback", 200.0, dry_run=False)
    s.record("fraud", "rollback", 300.0, dry_run=True)
    again = Store(tmp_path / "state.json")
    assert again.seen("fp@t") and not again.seen("fp@other")
    assert again.last("fraud", "rollback", dry_run=False) == 200.0
    assert again.last("fraud", "rollback", dry_run=True) == 300.0
    assert again.last("fraud", "retrain", dry_run=False) is None
    assert again.count_since("fraud", "rollback", 150.0, dry_run=False) == 1
    # History older than a day is dropped on the next write.
    again.record("fraud", "rollback", 200.0 + DAY + 1, dry_run=False)
    assert Store(tmp_path / "state.json").count_since("fraud", "rollback", 0.0, False) == 1


def test_corrupt_state_is_an_error_not_a_silent_reset(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{truncated")
    with pytest.raises(StateError, match=r"state\.json: not valid JSON"):
        Store(tmp_path / "state.json")


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
