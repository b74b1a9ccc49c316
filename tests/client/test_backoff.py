from __future__ import annotations

import itertools

import pytest

from exporter.client.backoff import Backoff


def test_doubles_with_half_jitter_up_to_the_cap() -> None:
    values = itertools.cycle([0.0, 1.0])
    b = Backoff(initial=0.1, cap=1.0, rand=lambda: next(values))
    delays = [b.next() for _ in range(8)]
    # d = 0.1, 0.2, 0.4, 0.8, 1.0, 1.0 ...; delay = d * (0.5 + 0.5 * r), r alternating 0, 1.
    expected = [0.05, 0.2, 0.2, 0.8, 0.5, 1.0, 0.5, 1.0]
    assert delays == pytest.approx(expected)


def test_reset_starts_over() -> None:
    b = Backoff(initial=0.1, cap=5.0, rand=lambda: 1.0)
    for _ in range(5):
        b.next()
    b.reset()
    assert b.next() == pytest.approx(0.1)


def test_jitter_stays_within_bounds() -> None:
    b = Backoff(initial=0.2, cap=0.2)
    assert all(0.1 <= b.next() <= 0.2 for _ in range(200))


@pytest.mark.parametrize(("initial", "cap"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 1.0)])
def test_rejects_bad_settings(initial: float, cap: float) -> None:
    with pytest.raises(ValueError):
        Backoff(initial, cap)
