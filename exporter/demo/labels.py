"""Ground truth arrives later than the prediction: a queue of labels with their due time."""

from __future__ import annotations

import heapq

import numpy as np

from exporter.demo.traffic import Label


class DelayedLabels:
    """Each label becomes due ``uniform(min_delay, max_delay)`` seconds after its prediction."""

    def __init__(self, min_delay: float = 1.0, max_delay: float = 4.0, seed: int = 0) -> None:
        if not 0 <= min_delay <= max_delay:
            raise ValueError("label delays need 0 <= min_delay <= max_delay")
        self.min_delay = min_delay
        self.max_delay = max_delay
        self._rng = np.random.default_rng([seed, 2])
        self._heap: list[tuple[float, int, str, Label]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, now: float, id: str, label: Label) -> None:
        due = now + float(self._rng.uniform(self.min_delay, self.max_delay))
        heapq.heappush(self._heap, (due, self._seq, id, label))
        self._seq += 1

    def due(self, now: float) -> list[tuple[str, Label]]:
        out: list[tuple[str, Label]] = []
        while self._heap and self._heap[0][0] <= now:
            _, _, ident, label = heapq.heappop(self._heap)
            out.append((ident, label))
        return out
