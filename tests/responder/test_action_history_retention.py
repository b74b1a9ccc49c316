"""How long the responder remembers: handled alerts for 30 days and at most MAX_SEEN of them
(the newest kept), the daily cap's 24 hours exactly, and a state file of the wrong shape
(cases mutation testing found untested)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporter.responder.action_history import DAY, MAX_SEEN, SEEN_RETENTION, ActionHistory
from exporter.responder.jsonfile import StateError


def _admit(s: ActionHistory, alert: str, now: float, daily_cap: int = 5) -> str | None:
    skip = s.admit(alert, "fraud", "rollback", now, cooldown=0.0, daily_cap=daily_cap,
                   dry_run=False, when="now")
    return None if skip is None else skip.result


def test_handled_alerts_are_forgotten_after_30_days(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    s = ActionHistory(path)
    s.mark_handled("old", 0.0)
    s.mark_handled("edge", 10 * DAY)
    now = 10 * DAY + SEEN_RETENTION  # "edge" is exactly 30 days old, "old" older
    s.mark_handled("new", now)
    assert json.loads(path.read_text())["seen"] == {"edge": 10 * DAY, "new": now}
    again = ActionHistory(path)
    assert (again.handled("old"), again.handled("edge"), again.handled("new")) == (
        False, True, True)
    # the remembered alert, firing again, is not acted on; the forgotten one is
    assert _admit(again, "edge", now) == "skipped_duplicate"
    assert _admit(again, "old", now) is None


def test_past_max_seen_the_oldest_handled_alerts_are_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    seen = {f"a{i}": float(i) for i in range(MAX_SEEN)}  # all recent
    path.write_text(json.dumps({"seen": seen, "history": []}))
    s = ActionHistory(path)
    s.mark_handled("newest", float(MAX_SEEN))  # one over the bound: a0 goes
    kept = json.loads(path.read_text())["seen"]
    assert len(kept) == MAX_SEEN and "a0" not in kept and "a1" in kept and "newest" in kept
    assert _admit(ActionHistory(path), "newest", MAX_SEEN + 1.0) == "skipped_duplicate"


def test_the_daily_cap_counts_the_last_24_hours_only(tmp_path: Path) -> None:
    s = ActionHistory(tmp_path / "state.json", history_retention=2 * DAY)
    assert _admit(s, "first", 1000.0, daily_cap=1) is None
    assert _admit(s, "second", 1000.0 + DAY - 1, daily_cap=1) == "skipped_cap"
    assert _admit(s, "third", 1000.0 + DAY, daily_cap=1) is None  # 24 h ago: out of the day


def test_a_state_file_that_is_not_an_object_is_refused_naming_the_file(
        tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("[]")
    with pytest.raises(StateError, match=r"state\.json: expected a JSON object"):
        ActionHistory(tmp_path / "state.json")
