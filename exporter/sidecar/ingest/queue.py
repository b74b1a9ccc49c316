"""The bounded queue between the tap readers and the ingest worker."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

MAX_BATCH_LINES = 2048
LINGER_BELOW_LINES = MAX_BATCH_LINES // 2  # a smaller batch may wait for more (``get``)


@dataclass
class Item:
    lines: list[bytes]
    reply: Future[Counter[str]] | None = None  # set for HTTP posts: per-request counts
    size: int = 0  # bytes, set by the queue


MAX_QUEUE_BYTES = 4 << 20  # memory bound of the queue, whatever server.queue_size says


class IngestQueue:
    """Bounded FIFO between readers and the worker; never blocks the reader.

    Bounded in lines (``capacity``) and in bytes (``max_bytes``), whichever is
    reached first. Stream readers put whole reads (``force``) and pause while the
    queue is ``full``; ``on_room`` (set by the intake) is called from the worker's
    thread once the queue has drained to half of both bounds after ``want_room``.
    """

    def __init__(self, capacity: int, max_bytes: int = MAX_QUEUE_BYTES) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.items: deque[Item] = deque()
        self.size = 0
        self.bytes = 0
        self.taken = 0  # lines handed to the worker so far
        self.cond = threading.Condition()
        self.closed = False
        self.on_room: Callable[[], None] | None = None
        self._waiting = False  # a reader paused and wants on_room at the low-water mark

    def put(self, item: Item, force: bool = False) -> int:
        """Queue the item; returns how many lines were dropped for lack of room.

        ``force`` queues the whole item even beyond the bounds (a stream reader's one
        read, after which it pauses): nothing is dropped unless the queue is closed.
        """
        with self.cond:
            if self.closed:
                if item.reply is not None and not item.reply.done():
                    item.reply.set_result(Counter())
                return len(item.lines)
            if force:
                self._append(item, sum(map(len, item.lines)))
                return 0
            room = self.capacity - self.size
            dropped = 0
            if len(item.lines) > room:
                dropped = len(item.lines) - max(room, 0)
                item.lines = item.lines[:len(item.lines) - dropped]
            size = sum(map(len, item.lines))
            # An item always fits an empty queue: an HTTP body may be larger than the
            # byte bound (up to server.max_body_bytes) and must not be refused whole.
            if item.lines and self.items and self.bytes + size > self.max_bytes:
                dropped += len(item.lines)  # rare: the worker is far behind; drop the chunk
                item.lines = []
                size = 0
            if item.lines or item.reply is not None:
                self._append(item, size)
            return dropped

    def offer(self, item: Item) -> bool:
        """Queue the whole item if it fits (or the queue is empty); False queues nothing."""
        size = sum(map(len, item.lines))
        with self.cond:
            if self.closed:
                return False
            # An item always fits an empty queue: an HTTP body may be larger than the
            # byte bound (up to server.max_body_bytes) and must not be refused forever.
            if self.items and (self.size + len(item.lines) > self.capacity
                               or self.bytes + size > self.max_bytes):
                return False
            self._append(item, size)
            return True

    def _append(self, item: Item, size: int) -> None:
        item.size = size
        self.items.append(item)
        self.size += len(item.lines)
        self.bytes += size
        self.cond.notify()

    @property
    def full(self) -> bool:
        return self.size >= self.capacity or self.bytes >= self.max_bytes

    def _low(self) -> bool:
        return self.size <= self.capacity // 2 and self.bytes <= self.max_bytes // 2

    def want_room(self) -> bool:
        """True if there is room now; otherwise on_room will be called when there is."""
        with self.cond:
            if self._low() or self.closed:
                return True
            self._waiting = True
            return False

    def get(self, timeout: float, linger: float = 0.0) -> list[Item]:
        """Items to process together (up to MAX_BATCH_LINES lines); [] on timeout or close.

        With ``linger``, a batch that would be small (a trickle of events, not a backlog)
        waits that long for more lines first, so a low event rate is applied in a few
        larger batches instead of many tiny ones, each with its fixed cost. The wait ends
        early once enough lines are queued or the queue closes; an HTTP post at the head
        is never held back.
        """
        with self.cond:
            if not self.items:
                self.cond.wait(timeout)
            if (linger > 0 and self.items and not self.closed
                    and self.items[0].reply is None and self.size < LINGER_BELOW_LINES
                    and self._low()):
                self.cond.wait_for(lambda: self.closed or self.size >= LINGER_BELOW_LINES,
                                   timeout=linger)
            out: list[Item] = []
            lines = 0
            while self.items:
                nxt = self.items[0]
                if out and (nxt.reply is not None or lines + len(nxt.lines) > MAX_BATCH_LINES):
                    break
                out.append(self.items.popleft())
                lines += len(nxt.lines)
                self.bytes -= nxt.size
                if nxt.reply is not None:
                    break  # an HTTP post is decoded alone so its reply counts only its lines
            self.size -= lines
            self.taken += lines
            wake = self._waiting and self._low()
            if wake:
                self._waiting = False
        if wake and self.on_room is not None:
            self.on_room()  # outside the lock: it schedules work on the readers' loop
        return out

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
