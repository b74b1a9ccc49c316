"""The join tables' counters and bounds at their edges: counts that add up across batches,
id bytes that follow every way an entry leaves, byte eviction from the oldest entry across
scan chunks, and ttl boundaries. Each expected value is worked out by hand in the comments
(these cases are where mutation testing found the other tests silent)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from exporter.sidecar.label_join import (
    DELAY_BUCKETS,
    EVICT_CHUNK,
    EarlyLabels,
    JoinCounters,
    JoinTable,
)


def _rows(received: list[float], ts_offset: float = -1.0) -> NDArray[np.float64]:
    # received, ts, value, class, p0, p1
    return np.array([[r, r + ts_offset, 0.5, 1.0, 0.25, 0.75] for r in received])


def _table(max_pending: int, max_bytes: int = 1 << 20, ttl: float = 100.0
           ) -> tuple[JoinTable, JoinCounters]:
    c = JoinCounters()
    return JoinTable(ttl, max_pending, 2, c, max_bytes=max_bytes), c


# --- the prediction table -------------------------------------------------------------------

def test_evictions_in_turn_each_drop_only_the_oldest() -> None:
    t, c = _table(3)
    t.add_many(["a", "b", "c"], _rows([1.0, 2.0, 3.0]))
    t.add_many(["d"], _rows([4.0]))  # a goes
    t.add_many(["e"], _rows([5.0]))  # b goes: b must not be left behind, mapped to e's slot
    assert c.unjoined["evicted"] == 2 and sorted(t.slots) == ["c", "d", "e"]
    assert t.take("a") is None and t.take("b") is None
    got = [t.take(i) for i in ("c", "d", "e")]
    assert [p.ts for p in got if p is not None] == [2.0, 3.0, 4.0]
    assert t.bytes == 0 and len(t) == 0


def test_a_regression_prediction_is_taken_without_probabilities() -> None:
    c = JoinCounters()
    t = JoinTable(100.0, 10, 0, c)  # no classes: received, ts, value, class only
    t.add_many(["r"], np.array([[10.0, 9.0, 123.5, np.nan]]))
    got = t.take("r")
    assert got is not None and (got.ts, got.value, got.proba) == (9.0, 123.5, None)


def test_a_table_of_one_keeps_one() -> None:
    t, c = _table(1)
    t.add_many(["a"], _rows([1.0]))
    t.add_many(["b"], _rows([2.0]))
    assert list(t.slots) == ["b"] and c.unjoined["evicted"] == 1


def test_pending_bytes_follow_joins_of_ids_of_different_lengths() -> None:
    t, _ = _table(10)
    t.add_many(["a", "bbb", "cccccc"], _rows([1.0, 2.0, 3.0]))
    assert t.bytes == 10
    assert t.take("bbb") is not None and t.bytes == 7  # 10 - 3
    assert t.take("cccccc") is not None and t.bytes == 1  # 7 - 6


def test_byte_eviction_starts_at_the_oldest_entry_after_the_ring_wrapped() -> None:
    t, c = _table(4, max_bytes=8)
    t.add_many(["aa", "bb", "cc", "dd"], _rows([1.0, 2.0, 3.0, 4.0]))  # slots 0-3, 8 bytes
    t.add_many(["ee"], _rows([5.0]))  # slot 0: aa evicted by count
    # fff takes slot 1 (bb evicted by count): 2 + 2 + 2 + 3 = 9 bytes > 8, so the oldest
    # left, cc in slot 2, goes too; ee in slot 0 is newer and stays
    t.add_many(["fff"], _rows([6.0]))
    assert sorted(t.slots) == ["dd", "ee", "fff"] and t.bytes == 7
    assert c.unjoined["evicted"] == 3


def test_byte_eviction_across_scan_chunks_evicts_exactly_the_excess() -> None:
    n = EVICT_CHUNK + 904  # 5,000 entries: the oldest-first scan takes two chunks
    t, c = _table(n + 1000, max_bytes=4 * n)
    t.add_many([f"{i:04d}" for i in range(n)], _rows([float(i) for i in range(n)]))
    assert t.bytes == 4 * n and c.unjoined["evicted"] == 0
    # 4 bytes over: exactly one (the oldest) goes, not one more from the second chunk
    t.add_many(["zzzz"], _rows([float(n)]))
    assert c.unjoined["evicted"] == 1 and "0000" not in t.slots and "0001" in t.slots
    assert t.bytes == 4 * n
    # one byte over: still one goes
    assert t.take("zzzz") is not None
    t.add_many(["yyyyy"], _rows([n + 1.0]))  # 4n - 4 + 5 = 4n + 1
    assert c.unjoined["evicted"] == 2 and "0001" not in t.slots and t.bytes == 4 * n - 3
    # an id needing more room than the first chunk frees: 4,101 of the 4-byte ids go
    big = "x" * (4 * 4101 + 3)  # 3 bytes were free: 4 * 4101 over
    t.add_many([big], _rows([n + 2.0]))
    assert c.unjoined["evicted"] == 2 + 4101
    assert f"{4102:04d}" not in t.slots and f"{4103:04d}" in t.slots and big in t.slots
    assert t.bytes == 4 * n  # (n - 4103) four-byte ids + 5 + len(big)


def test_ttl_counts_from_arrival_not_from_the_event_time() -> None:
    t, c = _table(10, ttl=10.0)
    # event times a day before arrival (a replayed or delayed stream): not expired on arrival
    t.add_many(["a", "b"], _rows([100.0, 101.0], ts_offset=-86_400.0))
    assert t.expire(105.0) == 0 and sorted(t.slots) == ["a", "b"]
    # received exactly ttl ago is not older than ttl; a moment later it is
    assert t.expire(110.0) == 0
    assert t.expire(111.0) == 1 and list(t.slots) == ["b"]  # a: 11 s
    assert c.unjoined["expired"] == 1


def test_expiry_runs_again_one_second_later() -> None:
    t, _ = _table(10, ttl=10.0)
    t.add_many(["a", "b"], _rows([100.0, 100.5]))
    assert t.expire(110.2) == 1  # a
    assert t.expire(111.2) == 1  # b: one second later the check runs again


def test_pending_entries_are_listed_oldest_first_after_the_ring_wrapped() -> None:
    t, _ = _table(4)
    t.add_many(["a", "b", "c", "d"], _rows([1.0, 2.0, 3.0, 4.0]))
    t.add_many(["e"], _rows([5.0]))  # slot 0; the oldest left, b, is in slot 1
    assert [ident for ident, _ in t.items()] == ["b", "c", "d", "e"]
    assert [row[0] for _, row in t.items()] == [2.0, 3.0, 4.0, 5.0]


def test_delay_histogram_adds_up_across_batches() -> None:
    t, c = _table(10)
    t.record_delays(np.array([0.5, 3.0]))
    t.record_delays(np.array([0.2, 10.0]))
    expected = np.zeros(len(DELAY_BUCKETS) + 1, dtype=np.int64)
    expected[0], expected[1], expected[2] = 2, 1, 1  # <= 1 s, <= 5 s, <= 15 s
    assert c.delay_buckets.tolist() == expected.tolist()
    assert c.delay_sum == 0.5 + 3.0 + 0.2 + 10.0


# --- labels held before their prediction -------------------------------------------------

def _early(cap: int, max_bytes: int = 1 << 20, ttl: float = 60.0
           ) -> tuple[EarlyLabels, JoinCounters]:
    c = JoinCounters()
    return EarlyLabels(ttl, cap, max_bytes, c), c


def test_max_early_one_holds_one_label() -> None:
    e, c = _early(1)
    e.hold("a", 1.0, 100.0)
    assert list(e.labels) == ["a"] and c.unjoined["unmatched"] == 0
    e.hold("b", 0.0, 101.0)
    assert list(e.labels) == ["b"] and c.early == {"held": 2, "joined": 0, "expired": 0,
                                                   "evicted": 1}


def test_max_early_zero_counts_every_label_unmatched() -> None:
    e, c = _early(0)
    for i, ident in enumerate(["a", "b", "c"]):
        e.hold(ident, 1.0, 100.0 + i)
    assert len(e) == 0 and c.unjoined["unmatched"] == 3 and c.early["held"] == 0


def test_held_bytes_follow_replacement_and_matches() -> None:
    e, c = _early(10, max_bytes=8)
    e.hold("aaaa", 1.0, 100.0)
    e.hold("aaaa", 0.0, 101.0)  # replaced: still 4 bytes
    assert e.bytes == 4 and e.labels["aaaa"] == (0.0, 101.0)
    e.hold("bbbb", 1.0, 102.0)  # exactly the bound: nothing evicted
    assert e.bytes == 8 and c.early["evicted"] == 1  # the replaced label only
    e.hold("cc", 1.0, 103.0)
    e.hold("d", 1.0, 104.0)  # 4 + 4 + 2 + 1 = 11 > 8: aaaa goes, 7 left
    assert list(e.labels) == ["bbbb", "cc", "d"] and e.bytes == 7
    assert set(e.match(["cc", "zz"])) == {"cc"} and e.bytes == 5
    assert set(e.match(["bbbb"])) == {"bbbb"} and e.bytes == 1
    assert c.early["joined"] == 2  # both matches counted


def test_an_early_label_held_exactly_early_ttl_is_kept() -> None:
    e, c = _early(10, ttl=10.0)
    e.hold("a", 1.0, 100.0)
    e.hold("b", 1.0, 105.0)
    assert e.expire(110.0) == 0  # a held 10 s: not longer than early_ttl
    assert e.expire(110.5) == 1 and list(e.labels) == ["b"]
    assert c.early["expired"] == 1 and c.unjoined["unmatched"] == 1
