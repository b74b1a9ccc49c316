"""Delayed-label join: predictions wait for their label in a bounded table.

Predictions are inserted in arrival order, so the oldest entry is always the
first of the dict: eviction (over ``max_pending``) and expiry (older than
``ttl``) pop from the front. Joined pairs go to a ring of the last N pairs.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from exporter.sidecar.window import Ring

# Label delay histogram upper bounds in seconds (+Inf implied).
DELAY_BUCKETS: tuple[float, ...] = (
    1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 3 * 86400.0,
)

UNJOINED_REASONS: tuple[str, ...] = ("expired", "evicted", "unmatched")


@dataclass(frozen=True)
class Pending:
    """A prediction taken out of the join table by its label."""

    ts: float  # event time, for the label delay
    value: float  # numeric prediction (score or regression value), NaN if none
    cls: float  # predicted class index, NaN if none
    proba: tuple[float, ...] | None  # class probabilities when given


@dataclass
class JoinCounters:
    labels: int = 0
    joined: int = 0
    unjoined: dict[str, int] = field(default_factory=lambda: dict.fromkeys(UNJOINED_REASONS, 0))
    delay_buckets: NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(len(DELAY_BUCKETS) + 1, dtype=np.int64))
    delay_sum: float = 0.0


class JoinTable:
    """Bounded id -> prediction map with ttl expiry and oldest-first eviction.

    Entries live in numpy slot arrays used as a ring in arrival order (so the
    slot about to be reused is the oldest); the dict maps an id to its slot.
    No Python object is created per pending prediction besides the dict entry.
    """

    def __init__(self, ttl: float, max_pending: int, n_classes: int,
                 counters: JoinCounters) -> None:
        self.ttl = ttl
        self.cap = max(1, max_pending)
        self.counters = counters
        self.slots: dict[str, int] = {}
        self.owner: NDArray[np.object_] = np.full(self.cap, None, dtype=object)
        self.live = np.zeros(self.cap, dtype=bool)
        # columns: received, ts, value, class, probabilities...
        self.data = np.full((self.cap, 4 + n_classes), np.nan)
        self.next = 0
        self.last_expiry = -math.inf

    def __len__(self) -> int:
        return len(self.slots)

    def add_many(self, idents: list[str], rows: NDArray[np.float64]) -> None:
        """Insert predictions (rows: received, ts, value, class, probabilities...).

        Invariant: every live slot's owner maps to that slot, so eviction can
        delete ids without checking them one by one.
        """
        k = len(idents)
        if k > self.cap:  # the first ones would be evicted by the last ones at once
            self._count("evicted", k - self.cap)
            idents, rows, k = idents[k - self.cap:], rows[k - self.cap:], self.cap
        table = self.slots
        if not table.keys().isdisjoint(idents):  # re-sent ids: their newer prediction wins
            previous = list(map(table.get, idents))
            self._free(np.array([s for s in previous if s is not None], dtype=np.int64))
        # the next k slots: one slice unless they wrap around the end
        end = self.next + k
        where: slice | NDArray[np.intp] = (slice(self.next, end) if end <= self.cap
                                           else np.arange(self.next, end) % self.cap)
        slots = np.arange(self.next, end) % self.cap
        live = self.live[where]
        if live.any():
            taken = slots[live]
            owners = self.owner[taken].tolist()
            collections.deque(map(table.__delitem__, owners), maxlen=0)  # del each, in C
            self._free(taken)
            self._count("evicted", len(owners))
        self.owner[where] = idents
        self.data[where] = rows
        self.live[where] = True
        before = len(table)
        table.update(zip(idents, slots.tolist(), strict=True))
        if len(table) - before != k:  # an id repeated within the batch: keep its last slot
            kept = {table[i] for i in idents}
            self._free(np.array([s for s in slots.tolist() if s not in kept], dtype=np.int64))
        self.next = int((self.next + k) % self.cap)

    def _free(self, slots: NDArray[np.int64]) -> None:
        self.live[slots] = False
        self.owner[slots] = None

    def take(self, ident: str) -> Pending | None:
        slot = self.slots.pop(ident, None)
        if slot is None:
            self._count("unmatched", 1)
            return None
        self.live[slot] = False
        self.owner[slot] = None
        row = self.data[slot].tolist()
        proba = None if len(row) == 4 or math.isnan(row[4]) else tuple(row[4:])
        return Pending(row[1], row[2], row[3], proba)

    def expire(self, now: float, every: float = 1.0) -> int:
        """Drop entries received more than ``ttl`` ago (checked at most every ``every`` s)."""
        if now - self.last_expiry < every:
            return 0
        self.last_expiry = now
        old = np.flatnonzero(self.live & (self.data[:, 0] < now - self.ttl))
        for ident in self.owner[old].tolist():
            del self.slots[ident]
        self._free(old)
        self._count("expired", len(old))
        return len(old)

    def items(self) -> list[tuple[str, NDArray[np.float64]]]:
        """(id, row) of every pending prediction, oldest first (for the state file)."""
        order = sorted(self.slots.items(), key=lambda kv: (kv[1] - self.next) % self.cap)
        return [(ident, self.data[slot]) for ident, slot in order]

    def _count(self, reason: str, n: int) -> None:
        self.counters.unjoined[reason] += n

    def record_delays(self, delays: NDArray[np.float64]) -> None:
        delays = np.maximum(delays, 0.0)
        idx = np.searchsorted(np.asarray(DELAY_BUCKETS), delays, side="left")
        self.counters.delay_buckets += np.bincount(idx, minlength=len(DELAY_BUCKETS) + 1)
        self.counters.delay_sum += float(delays.sum())


class PairWindow:
    """Ring of the last N joined (label, prediction) pairs.

    Columns: label (class index or value), predicted class, predicted value,
    then one probability per class (NaN when the prediction had none).
    """

    def __init__(self, size: int, n_classes: int) -> None:
        self.ring = Ring(size, 3 + n_classes, np.float64, np.nan)

    def extend(self, rows: NDArray[np.float64], ts: NDArray[np.float64]) -> None:
        self.ring.extend(rows, ts)

    def __len__(self) -> int:
        return self.ring.count
