"""Delayed-label join: predictions wait for their label in a bounded table.

Predictions are inserted in arrival order, so the oldest entry is always the
first of the dict: eviction (over ``max_pending`` or ``max_bytes`` of ids) and
expiry (older than ``ttl``) pop from the front. Labels that come before their
prediction wait in a smaller table of their own (``EarlyLabels``). Joined pairs
go to a ring of the last N pairs.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from exporter.sidecar.window import Ring
from exporter.stats.ranking import SCORE_BINS, score_bins

# Label delay histogram upper bounds in seconds (+Inf implied).
DELAY_BUCKETS: tuple[float, ...] = (
    1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 3 * 86400.0,
)

UNJOINED_REASONS: tuple[str, ...] = ("expired", "evicted", "unmatched")
# What became of labels that arrived before their prediction ("held" counts arrivals).
EARLY_OUTCOMES: tuple[str, ...] = ("held", "joined", "expired", "evicted")
DEFAULT_MAX_BYTES = 64 << 20
EVICT_CHUNK = 4096  # slots scanned at a time when evicting for bytes


@dataclass(frozen=True)
class Pending:
    """A prediction taken out of the join table by its label."""

    ts: float  # event time, for the label delay
    value: float  # numeric prediction (score or regression value), NaN if none
    cls: float  # predicted class index, NaN if none
    proba: tuple[float, ...] | None  # class probabilities when given
    segment: int = -1  # segment index (exporter.sidecar.segments); -1 without segments


def pending(row: list[float], classes: int | None = None) -> Pending:
    """The prediction of a join-table row (received, ts, value, class, probabilities...);
    with ``classes`` given, a column after the probabilities is the segment index."""
    segment = -1
    if classes is not None and len(row) > 4 + classes:
        segment, row = int(row[4 + classes]), row[:4 + classes]
    proba = None if len(row) == 4 or math.isnan(row[4]) else tuple(row[4:])
    return Pending(row[1], row[2], row[3], proba, segment)


@dataclass
class JoinCounters:
    labels: int = 0
    joined: int = 0
    unjoined: dict[str, int] = field(default_factory=lambda: dict.fromkeys(UNJOINED_REASONS, 0))
    delay_buckets: NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(len(DELAY_BUCKETS) + 1, dtype=np.int64))
    delay_sum: float = 0.0
    early: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EARLY_OUTCOMES, 0))


class EarlyLabels:
    """Labels whose prediction has not arrived yet: id -> (label value, received).

    Bounded in count and in id bytes, oldest evicted first; a label older than
    ``ttl`` expires. Both leave as ``unmatched`` labels (they never joined).
    """

    def __init__(self, ttl: float, cap: int, max_bytes: int, counters: JoinCounters) -> None:
        self.ttl = ttl
        self.cap = cap
        self.max_bytes = max_bytes
        self.counters = counters
        # arrival order; an OrderedDict pops its oldest in O(1), where a dict's front
        # fills with deleted slots that each later look at the oldest entry scans again
        self.labels: collections.OrderedDict[str, tuple[float, float]] = collections.OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self.labels)

    def hold(self, ident: str, y: float, received: float) -> None:
        """Keep the label until its prediction comes (``max_early`` 0: unmatched at once)."""
        c = self.counters
        if self.cap <= 0:
            c.unjoined["unmatched"] += 1
            return
        c.early["held"] += 1
        if self.labels.pop(ident, None) is not None:  # a newer label replaces the older one
            self.bytes -= len(ident)
            self._gone("evicted", 1)
        self.labels[ident] = (y, received)
        self.bytes += len(ident)
        over = len(self.labels) - self.cap
        while self.labels and (over > 0 or self.bytes > self.max_bytes):
            self._pop_oldest()
            self._gone("evicted", 1)
            over -= 1

    def restore(self, held: Iterable[tuple[str, float, float]]) -> None:
        """Hold labels read back from a state file (id, label, received), oldest first;
        already counted as held, so the counters stay as they were written."""
        for ident, y, received in held:
            self.labels[ident] = (y, received)
            self.bytes += len(ident)

    def match(self, idents: list[str]) -> dict[str, tuple[float, float]]:
        """Take the held labels of these prediction ids: id -> (label value, received)."""
        if not self.labels:  # the usual case: no set built per batch
            return {}
        found = self.labels.keys() & idents
        out = {i: self.labels.pop(i) for i in found}
        self.bytes -= sum(map(len, found))
        self.counters.early["joined"] += len(out)
        return out

    def expire(self, now: float) -> int:
        """Drop the labels held longer than ``ttl``; how many."""
        labels, cutoff, n = self.labels, now - self.ttl, 0
        while labels and next(iter(labels.values()))[1] < cutoff:
            self._pop_oldest()
            n += 1
        self._gone("expired", n)
        return n

    def _pop_oldest(self) -> None:
        ident, _ = self.labels.popitem(last=False)
        self.bytes -= len(ident)

    def _gone(self, outcome: str, n: int) -> None:
        self.counters.early[outcome] += n
        self.counters.unjoined["unmatched"] += n


class JoinTable:
    """Bounded id -> prediction map with ttl expiry and oldest-first eviction.

    Entries live in numpy slot arrays used as a ring in arrival order (so the
    slot about to be reused is the oldest); the dict maps an id to its slot.
    No Python object is created per pending prediction besides the dict entry.
    """

    def __init__(self, ttl: float, max_pending: int, n_classes: int, counters: JoinCounters,
                 *, max_bytes: int = DEFAULT_MAX_BYTES, early_ttl: float = 60.0,
                 max_early: int = 0, extra: int = 0) -> None:
        self.ttl = ttl
        self.n_classes = n_classes  # ``extra`` columns follow the probabilities (segment)
        self.cap = max(1, max_pending)
        self.counters = counters
        self.max_bytes = max_bytes
        self.early = EarlyLabels(early_ttl, max_early, max_bytes, counters)
        self.slots: dict[str, int] = {}
        self.owner: NDArray[np.object_] = np.full(self.cap, None, dtype=object)
        self.live = np.zeros(self.cap, dtype=bool)
        # id length per slot (0 when free): the table is bounded in id bytes too, as
        # 20k ids of 30 KB would otherwise hold 600 MB under a count bound alone
        self.id_bytes = np.zeros(self.cap, dtype=np.int64)
        self.bytes = 0
        # columns: received, ts, value, class, probabilities... Only live slots are read,
        # so the table starts as zeros: untouched pages, which cost no memory until used
        # (100,000 slots of a binary classifier are 4.8 MB)
        self.data = np.zeros((self.cap, 4 + n_classes + extra))
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
            previous = {s for s in map(table.get, idents) if s is not None}
            self._free(np.array(sorted(previous), dtype=np.int64))
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
        lengths = np.fromiter(map(len, idents), dtype=np.int64, count=k)
        self.id_bytes[where] = lengths
        self.bytes += int(lengths.sum())
        before = len(table)
        table.update(zip(idents, slots.tolist(), strict=True))
        if len(table) - before != k:  # an id repeated within the batch: keep its last slot
            kept = {table[i] for i in idents}
            self._free(np.array([s for s in slots.tolist() if s not in kept], dtype=np.int64))
        self.next = int((self.next + k) % self.cap)
        if self.bytes > self.max_bytes:
            self._evict_bytes()

    def _evict_bytes(self) -> None:
        """Evict the oldest entries until the ids fit ``max_bytes``."""
        excess = self.bytes - self.max_bytes
        parts: list[NDArray[np.int64]] = []
        start = self.next  # the oldest slot; scanned in chunks, as only a few usually go
        while excess > 0 and start < self.next + self.cap:
            end = min(start + EVICT_CHUNK, self.next + self.cap)
            chunk = np.arange(start, end) % self.cap
            chunk = chunk[self.live[chunk]]
            # the first entries whose bytes add up to what is still in excess
            n = int(np.searchsorted(np.cumsum(self.id_bytes[chunk]), excess, side="left")) + 1
            parts.append(chunk[:n])
            excess -= int(self.id_bytes[chunk[:n]].sum())
            start = end
        gone = np.concatenate(parts)
        collections.deque(map(self.slots.__delitem__, self.owner[gone].tolist()), maxlen=0)
        self._free(gone)
        self._count("evicted", len(gone))

    def _free(self, slots: NDArray[np.int64]) -> None:
        """Free live slots (no slot twice)."""
        self.bytes -= int(self.id_bytes[slots].sum())
        self.id_bytes[slots] = 0
        self.live[slots] = False
        self.owner[slots] = None

    def take(self, ident: str) -> Pending | None:
        slot = self.slots.pop(ident, None)
        if slot is None:
            return None
        self.bytes -= int(self.id_bytes[slot])
        self.id_bytes[slot] = 0
        self.live[slot] = False
        self.owner[slot] = None
        return pending(self.data[slot].tolist(), self.n_classes)

    def expire(self, now: float, every: float = 1.0) -> int:
        """Drop predictions received more than ``ttl`` ago, and early labels more than
        their ``early_ttl`` ago (checked at most every ``every`` s); predictions dropped."""
        if now - self.last_expiry < every:
            return 0
        self.last_expiry = now
        self.early.expire(now)
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


class ScoreCounters:
    """Joined labels of a binary classifier's scores per score bin and true class.

    ``counts[1]`` holds the positives (label classes[1]), ``counts[0]`` the negatives, in
    the bins of ``exporter.stats.ranking.SCORE_EDGES``; the fleet AUC recording rule adds
    them up across pods. Only pairs with both a score and a label count.
    """

    def __init__(self) -> None:
        self.counts = np.zeros((2, SCORE_BINS), dtype=np.int64)

    def add(self, labels: NDArray[np.float64], scores: NDArray[np.float64]) -> None:
        ok = ~np.isnan(labels) & ~np.isnan(scores)
        if not ok.any():
            return
        idx = score_bins(scores[ok])
        positive = labels[ok] == 1.0
        self.counts[1] += np.bincount(idx[positive], minlength=SCORE_BINS)
        self.counts[0] += np.bincount(idx[~positive], minlength=SCORE_BINS)
