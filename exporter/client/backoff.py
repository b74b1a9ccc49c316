"""Exponential reconnect backoff with full jitter, capped."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delay before the next connection attempt: uniform in [d/2, d], d doubling up to ``cap``.

    Half-jitter keeps many model-server workers from reconnecting in lock step when
    a sidecar restarts, while still guaranteeing a minimum pause.
    """

    def __init__(self, initial: float = 0.05, cap: float = 2.0,
                 rand: Callable[[], float] = random.random) -> None:
        if initial <= 0 or cap < initial:
            raise ValueError("backoff needs 0 < initial <= cap")
        self.initial = initial
        self.cap = cap
        self._rand = rand
        self._current = initial

    def next(self) -> float:
        delay = self._current * (0.5 + 0.5 * self._rand())
        self._current = min(self.cap, self._current * 2.0)
        return delay

    def reset(self) -> None:
        self._current = self.initial
