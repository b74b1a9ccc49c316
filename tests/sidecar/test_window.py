from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from exporter.sidecar.window import Ring


@pytest.mark.parametrize("batches", [[3, 4, 2], [10], [25], [1] * 13, [7, 0, 9, 11]])
def test_ring_keeps_last_n_rows_in_order(batches: list[int]) -> None:
    ring = Ring(10, 2, np.float64, np.nan)
    oracle: deque[tuple[float, float]] = deque(maxlen=10)
    counter = 0
    for n in batches:
        rows = np.array([[counter + i, -(counter + i)] for i in range(n)], dtype=np.float64)
        ring.extend(rows.reshape(n, 2), np.arange(counter, counter + n, dtype=np.float64))
        oracle.extend((float(counter + i), float(-(counter + i))) for i in range(n))
        counter += n
    rows, ts = ring.ordered()
    assert [tuple(r) for r in rows.tolist()] == list(oracle)
    assert ts.tolist() == [r[0] for r in oracle]
    assert ring.count == len(oracle)


def test_recent_drops_rows_older_than_max_age() -> None:
    ring = Ring(5, 1, np.float64, np.nan)
    ring.extend(np.arange(8, dtype=np.float64).reshape(8, 1), np.arange(8, dtype=np.float64))
    # rows 3..7 remain, with timestamps 3..7; at now=10 and max_age=4 only ts >= 6 remain
    assert ring.recent(10.0, 4.0)[:, 0].tolist() == [6.0, 7.0]
    assert ring.recent(10.0, None)[:, 0].tolist() == [3.0, 4.0, 5.0, 6.0, 7.0]


def test_copies_are_independent_of_later_writes() -> None:
    ring = Ring(3, 1, np.int32, -1)
    ring.extend(np.array([[1], [2]], dtype=np.int32), np.zeros(2))
    rows, _ = ring.ordered()
    ring.extend(np.array([[9], [9]], dtype=np.int32), np.zeros(2))
    assert rows[:, 0].tolist() == [1, 2]


def test_load_keeps_the_last_size_rows() -> None:
    ring = Ring(3, 1, np.float64, np.nan)
    ring.load(np.arange(5, dtype=np.float64).reshape(5, 1), np.arange(5, dtype=np.float64))
    assert ring.ordered()[0][:, 0].tolist() == [2.0, 3.0, 4.0]
