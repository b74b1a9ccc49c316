"""IngestQueue: bounded in lines and bytes, never blocking, HTTP items alone, a trickle
batched."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

from exporter.sidecar.ingest.queue import LINGER_BELOW_LINES, MAX_BATCH_LINES, IngestQueue, Item


def test_queue_drops_what_does_not_fit_and_never_blocks() -> None:
    q = IngestQueue(5)
    assert q.put(Item([b"1", b"2", b"3"])) == 0
    assert q.put(Item([b"4", b"5", b"6", b"7"])) == 2
    assert q.size == 5
    items = q.get(timeout=0.0)
    assert [line for i in items for line in i.lines] == [b"1", b"2", b"3", b"4", b"5"]
    assert q.size == 0


def test_http_items_are_processed_alone() -> None:
    q = IngestQueue(MAX_BATCH_LINES * 4)
    reply: Future[object] = Future()
    q.put(Item([b"a"]))
    q.put(Item([b"b"], reply))  # type: ignore[arg-type]
    q.put(Item([b"c"]))
    assert [i.lines for i in q.get(0.0)] == [[b"a"]]
    assert [i.lines for i in q.get(0.0)] == [[b"b"]]
    assert [i.lines for i in q.get(0.0)] == [[b"c"]]


def test_closed_queue_answers_pending_http_reply() -> None:
    q = IngestQueue(10)
    q.close()
    reply: Future[object] = Future()
    assert q.put(Item([b"x"], reply)) == 1  # type: ignore[arg-type]
    assert reply.done()


def test_queue_is_bounded_in_bytes_too() -> None:
    q = IngestQueue(1000, max_bytes=10)
    assert q.put(Item([b"12345", b"1234"])) == 0
    assert q.put(Item([b"12"])) == 1  # 9 + 2 bytes > 10
    assert q.bytes == 9
    q.get(0.0)
    assert q.bytes == 0 and q.put(Item([b"12"])) == 0


def test_an_item_over_the_byte_bound_still_fits_an_empty_queue() -> None:
    q = IngestQueue(1000, max_bytes=10)  # e.g. an HTTP body larger than the queue bound
    assert q.put(Item([b"123456", b"123456"])) == 0
    assert q.put(Item([b"1"])) == 1  # but nothing more while it waits
    assert [i.lines for i in q.get(0.0)] == [[b"123456", b"123456"]]


def test_offer_takes_a_whole_item_or_nothing() -> None:
    q = IngestQueue(4, max_bytes=100)
    assert q.offer(Item([b"a", b"b", b"c"]))
    assert not q.offer(Item([b"d", b"e"]))  # 5 lines > 4: refused whole
    assert (q.size, q.bytes) == (3, 3)
    q.get(0.0)
    assert q.offer(Item([b"x"] * 9))  # larger than the bounds, but the queue was empty
    assert not q.offer(Item([b"y"]))


def test_forced_put_takes_everything_and_room_is_announced_at_half() -> None:
    q = IngestQueue(4, max_bytes=1000)
    woken: list[int] = []
    q.on_room = lambda: woken.append(q.size)
    assert q.put(Item([b"1", b"2", b"3"]), force=True) == 0
    assert q.put(Item([b"4", b"5", b"6"]), force=True) == 0  # beyond the bound: still taken
    assert q.full and q.size == 6
    assert not q.want_room()
    q.get(0.0)  # the batch takes both items: 0 left, below half of 4
    assert woken == [0]
    q.put(Item([b"7"] * 5), force=True)
    assert not q.want_room()
    q.put(Item([b"8"]), force=True)
    assert q.get(0.0) and woken == [0, 0]  # once per want_room, not on every get
    assert q.want_room()  # room already: the caller resumes itself, no callback needed
    q.get(0.0)
    assert woken == [0, 0]


def _trickle(q: IngestQueue, n: int, every: float) -> threading.Thread:
    def run() -> None:
        for i in range(n):
            time.sleep(every)
            q.put(Item([b"%d" % i]))
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_a_trickle_lingers_into_one_batch() -> None:
    q = IngestQueue(1000)
    q.put(Item([b"first"]))
    writer = _trickle(q, 5, 0.01)
    items = q.get(timeout=1.0, linger=0.5)  # the five arrive within the linger
    writer.join()
    assert [line for i in items for line in i.lines] == [b"first", b"0", b"1", b"2", b"3", b"4"]
    q.put(Item([b"x"]))
    assert [i.lines for i in q.get(timeout=0.0)] == [[b"x"]]  # no linger: at once


def test_a_backlog_or_an_http_post_does_not_linger() -> None:
    q = IngestQueue(MAX_BATCH_LINES * 4)
    q.put(Item([b"y"] * LINGER_BELOW_LINES))
    t0 = time.monotonic()
    assert len(q.get(timeout=1.0, linger=5.0)[0].lines) == LINGER_BELOW_LINES
    reply: Future[object] = Future()
    q.put(Item([b"p"], reply))  # type: ignore[arg-type]
    assert [i.lines for i in q.get(timeout=1.0, linger=5.0)] == [[b"p"]]
    assert time.monotonic() - t0 < 2.5


def test_a_linger_ends_as_soon_as_a_batch_worth_of_lines_is_queued() -> None:
    q = IngestQueue(MAX_BATCH_LINES * 4)
    q.put(Item([b"first"]))
    t0 = time.monotonic()
    filler = threading.Timer(0.05, q.put, args=(Item([b"z"] * LINGER_BELOW_LINES),))
    filler.start()
    items = q.get(timeout=1.0, linger=5.0)
    filler.join()
    assert [len(i.lines) for i in items] == [1, LINGER_BELOW_LINES]  # waited, took both
    assert time.monotonic() - t0 < 2.5  # and did not sit out the 5 s linger
