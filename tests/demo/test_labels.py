from __future__ import annotations

import pytest

from exporter.demo.labels import DelayedLabels


def test_labels_come_due_within_their_delay() -> None:
    q = DelayedLabels(1.0, 3.0, seed=1)
    for i in range(200):
        q.add(100.0, f"r{i}", i % 2)
    assert q.due(100.999) == []
    early = q.due(102.0)
    rest = q.due(103.0)
    assert len(early) + len(rest) == 200 and len(q) == 0
    assert 60 < len(early) < 140  # uniform(1, 3): about half by t+2
    assert sorted(ident for ident, _ in early + rest) == sorted(f"r{i}" for i in range(200))
    assert all(label == int(ident[1:]) % 2 for ident, label in early + rest)


def test_zero_delay_is_immediate_and_bad_delays_rejected() -> None:
    q = DelayedLabels(0.0, 0.0)
    q.add(5.0, "a", "1")
    assert q.due(5.0) == [("a", "1")]
    with pytest.raises(ValueError):
        DelayedLabels(2.0, 1.0)
