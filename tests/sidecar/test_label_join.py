from __future__ import annotations

import numpy as np

from exporter.sidecar.label_join import DELAY_BUCKETS, JoinCounters, JoinTable, PairWindow


def _rows(received: list[float], value: float = 0.5) -> np.ndarray:  # type: ignore[type-arg]
    # received, ts, value, class, p0, p1
    return np.array([[r, r - 1.0, value, 1.0, 0.25, 0.75] for r in received], dtype=np.float64)


def test_take_returns_the_prediction_or_none() -> None:
    c = JoinCounters()
    t = JoinTable(ttl=100.0, max_pending=10, n_classes=2, counters=c)
    t.add_many(["a", "b"], _rows([10.0, 11.0]))
    got = t.take("b")
    assert got is not None
    assert (got.ts, got.value, got.cls, got.proba) == (10.0, 0.5, 1.0, (0.25, 0.75))
    assert t.take("b") is None and t.take("zzz") is None
    # the caller decides about a label without prediction (held early or unmatched)
    assert c.unjoined == {"expired": 0, "evicted": 0, "unmatched": 0}
    assert len(t) == 1


def test_oldest_evicted_beyond_max_pending() -> None:
    c = JoinCounters()
    t = JoinTable(ttl=100.0, max_pending=3, n_classes=2, counters=c)
    t.add_many(["a", "b"], _rows([1.0, 2.0]))
    t.add_many(["c", "d", "e"], _rows([3.0, 4.0, 5.0]))
    assert c.unjoined["evicted"] == 2
    assert sorted(t.slots) == ["c", "d", "e"]
    assert t.take("a") is None and t.take("c") is not None


def test_batch_larger_than_table_keeps_the_last() -> None:
    c = JoinCounters()
    t = JoinTable(ttl=100.0, max_pending=2, n_classes=2, counters=c)
    t.add_many(["a", "b", "c", "d", "e"], _rows([1, 2, 3, 4, 5]))
    assert sorted(t.slots) == ["d", "e"] and c.unjoined["evicted"] == 3


def test_resent_id_keeps_latest_prediction_without_double_counting() -> None:
    c = JoinCounters()
    t = JoinTable(ttl=100.0, max_pending=3, n_classes=2, counters=c)
    t.add_many(["a"], _rows([1.0], value=0.1))
    t.add_many(["a"], _rows([2.0], value=0.9))
    t.add_many(["b", "c"], _rows([3.0, 4.0]))  # reuses the orphaned first slot of "a"
    assert c.unjoined["evicted"] == 0
    got = t.take("a")
    assert got is not None and got.value == 0.9


def test_expiry_after_ttl() -> None:
    c = JoinCounters()
    t = JoinTable(ttl=10.0, max_pending=10, n_classes=2, counters=c)
    t.add_many(["a", "b", "c"], _rows([100.0, 105.0, 112.0]))
    assert t.expire(114.0) == 1  # a (received 100) is older than 114 - 10
    assert t.expire(114.5) == 0  # rate-limited to once per second
    assert t.expire(120.0) == 1  # b
    assert c.unjoined["expired"] == 2 and sorted(t.slots) == ["c"]


def test_delay_histogram_buckets() -> None:
    c = JoinCounters()
    t = JoinTable(ttl=10.0, max_pending=10, n_classes=2, counters=c)
    t.record_delays(np.array([0.5, 1.0, 3.0, 1e9]))
    expected = np.zeros(len(DELAY_BUCKETS) + 1, dtype=np.int64)
    expected[0] = 2  # <= 1 s (upper bound inclusive, as Prometheus "le")
    expected[1] = 1  # <= 5 s
    expected[-1] = 1  # +Inf
    assert c.delay_buckets.tolist() == expected.tolist()
    assert c.delay_sum == 0.5 + 1.0 + 3.0 + 1e9


def test_pair_window_is_bounded() -> None:
    w = PairWindow(4, 2)
    w.extend(np.ones((6, 5)), np.zeros(6))
    assert len(w) == 4


def test_id_repeated_within_a_batch_keeps_the_last_and_frees_the_rest() -> None:
    c = JoinCounters()
    t = JoinTable(ttl=100.0, max_pending=3, n_classes=2, counters=c)
    rows = _rows([1.0, 2.0, 3.0])
    rows[:, 2] = [0.1, 0.2, 0.3]
    t.add_many(["a", "a", "b"], rows)
    assert len(t) == 2 and int(t.live.sum()) == 2
    t.add_many(["c"], _rows([4.0]))  # fits in the freed slot: nothing evicted
    assert c.unjoined["evicted"] == 0
    got = t.take("a")
    assert got is not None and got.value == 0.2


def test_batches_wrapping_the_slot_ring_keep_each_prediction() -> None:
    c = JoinCounters()
    t = JoinTable(ttl=100.0, max_pending=5, n_classes=2, counters=c)
    t.add_many(["a", "b", "c"], _rows([1.0, 2.0, 3.0]))
    t.add_many(["d", "e", "f", "g"], _rows([4.0, 5.0, 6.0, 7.0]))  # slots 3, 4, 0, 1
    assert c.unjoined["evicted"] == 2 and sorted(t.slots) == ["c", "d", "e", "f", "g"]
    t.add_many(["h", "c"], _rows([8.0, 9.0]))  # "c" re-sent: its newer row wins
    assert c.unjoined["evicted"] == 3  # "d" (slot 3) made room; "c" was not evicted
    assert sorted(t.slots) == ["c", "e", "f", "g", "h"]
    for ident, ts in (("e", 4.0), ("f", 5.0), ("g", 6.0), ("h", 7.0), ("c", 8.0)):
        got = t.take(ident)
        assert got is not None and got.ts == ts
    assert len(t) == 0 and int(t.live.sum()) == 0


def test_pending_ids_are_bounded_in_bytes_oldest_evicted_first() -> None:
    c = JoinCounters()
    t = JoinTable(ttl=100.0, max_pending=10, n_classes=2, counters=c, max_bytes=10)
    t.add_many(["aaaa", "bbbb"], _rows([1.0, 2.0]))
    assert t.bytes == 8 and c.unjoined["evicted"] == 0
    t.add_many(["cccc"], _rows([3.0]))  # 12 bytes > 10: the oldest (aaaa) goes
    assert sorted(t.slots) == ["bbbb", "cccc"] and t.bytes == 8
    assert c.unjoined["evicted"] == 1
    assert t.take("bbbb") is not None and t.bytes == 4  # a join frees its bytes
    t.add_many(["dd", "eeee"], _rows([4.0, 5.0]))  # 4 + 2 + 4 = 10: fits exactly
    assert sorted(t.slots) == ["cccc", "dd", "eeee"] and t.bytes == 10
    t.add_many(["cccc"], _rows([6.0]))  # re-sent: its old entry is replaced, not evicted
    assert t.bytes == 10 and c.unjoined["evicted"] == 1
    t.add_many(["x" * 11], _rows([7.0]))  # larger than the whole budget: nothing else fits
    assert len(t) == 0 and t.bytes == 0 and c.unjoined["evicted"] == 5
    t.add_many(["ff"], _rows([8.0]))
    assert t.expire(200.0) == 1 and t.bytes == 0  # expiry frees bytes too
