"""Ingestion: split tap streams into lines, queue them, decode and apply them in a worker.

Readers (asyncio) never block on the state: they put lines into a bounded
queue and count what does not fit as ``queue_full``. One worker thread drains
the queue in micro-batches; decoder processes (``server.decode_processes``)
decode them, or the worker itself when there are none, and the state is
updated under the lock in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from queue import Empty, Queue

from exporter.decode_process import BatchFailed, DecoderGone, DecoderProcess
from exporter.events import BatchDecoder, DecodedBatch
from exporter.ratelog import RateLimitedLog
from exporter.state import Store

log = logging.getLogger("mlmon.ingest")

READ_SIZE = 1 << 18  # bytes per socket read (one reusable buffer per connection)
FULL_PAUSE = 0.001  # seconds between reads while the queue is full
MAX_BATCH_LINES = 2048


class LineSplitter:
    """Splits a byte stream into lines; a line over ``max_line`` bytes is dropped whole."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.rest = b""
        self.discarding = False  # inside an over-long line, until its newline
        self.too_long = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = chunk.split(b"\n")
        if self.rest:  # only the first line is joined, not the whole chunk copied
            lines[0] = self.rest + lines[0]
        self.rest = lines.pop()
        if self.discarding and lines:
            lines.pop(0)
            self.discarding = False
        if len(self.rest) > self.max_line:
            if not self.discarding:
                self.too_long += 1
            self.discarding = True
            self.rest = b""
        if lines and max(map(len, lines)) > self.max_line:
            kept = [x for x in lines if len(x) <= self.max_line]
            self.too_long += len(lines) - len(kept)
            lines = kept
        return [x for x in lines if x] if b"" in lines else lines

    def skip(self, chunk: bytes) -> int:
        """Consume a chunk without splitting it (the queue is full); returns lines dropped."""
        last = chunk.rfind(b"\n")
        if last < 0:
            self.feed(chunk)  # no line ends here: keep tracking the partial line
            return 0
        lines = chunk.count(b"\n", 0, last + 1)
        if self.discarding:
            lines -= 1  # the over-long line's end was already counted as line_too_long
            self.discarding = False
        self.rest = b""
        return lines + len(self.feed(chunk[last + 1:]))

    def finish(self) -> list[bytes]:
        """The last line of a stream without a trailing newline."""
        rest, self.rest = self.rest, b""
        if self.discarding:
            self.discarding = False
            return []
        return [rest] if rest.strip() else []

    def take_too_long(self) -> int:
        n, self.too_long = self.too_long, 0
        return n


@dataclass
class Item:
    lines: list[bytes]
    reply: Future[Counter[str]] | None = None  # set for HTTP posts: per-request counts
    size: int = 0  # bytes, set by the queue


MAX_QUEUE_BYTES = 4 << 20  # memory bound of the queue, whatever server.queue_size says


class IngestQueue:
    """Bounded FIFO between readers and the worker; never blocks the reader.

    Bounded in lines (``capacity``) and in bytes (``max_bytes``): what does not
    fit is dropped and reported to the caller (counted as queue_full).
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

    def put(self, item: Item) -> int:
        """Queue the item; returns how many lines were dropped for lack of room."""
        with self.cond:
            if self.closed:
                if item.reply is not None and not item.reply.done():
                    item.reply.set_result(Counter())
                return len(item.lines)
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
                item.size = size
                self.items.append(item)
                self.size += len(item.lines)
                self.bytes += size
                self.cond.notify()
            return dropped

    @property
    def full(self) -> bool:
        return self.size >= self.capacity or self.bytes >= self.max_bytes

    def get(self, timeout: float) -> list[Item]:
        """Items to process together (up to MAX_BATCH_LINES lines); [] on timeout or close."""
        with self.cond:
            if not self.items:
                self.cond.wait(timeout)
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
            return out

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


@dataclass
class _Flight:
    """A batch on its way through a decoder process (``decoder`` None: decode it here)."""

    items: list[Item]
    lines: list[bytes]
    decoder: DecoderProcess | None
    reply: bytes | DecoderGone | None = None  # set by the decoder's receiver thread
    done: threading.Event = field(default_factory=threading.Event)


FLIGHTS_PER_DECODER = 3  # batches sent ahead of the one being applied, per decoder process


class IngestWorker(threading.Thread):
    """Takes micro-batches off the queue, decodes them and applies them to the state.

    Without decoder processes this thread does both. With them, this thread only
    sends each batch to a child (round-robin); a receiver thread per child reads
    its replies as soon as they are written (so a child never waits for the
    state update), and an applier thread applies the batches in the order they
    were sent. A child that dies is reported once; its batches and all later
    ones are decoded in the applier, so nothing sent is lost.
    """

    def __init__(self, store: Store, decoder: BatchDecoder, queue: IngestQueue,
                 clock: Callable[[], float] = time.time, decode_only: bool = False,
                 decoders: Sequence[DecoderProcess] = ()) -> None:
        super().__init__(name="mlmon-ingest", daemon=True)
        self.store = store
        self.decoder = decoder
        self.queue = queue
        self.clock = clock
        self.decode_only = decode_only
        self.decoders = list(decoders)
        self.decoders_ok = bool(self.decoders)
        self.processed = 0  # lines applied (or dropped by a failed batch): see IngestQueue.taken
        self.rate_log = RateLimitedLog(log)
        self._flights: Queue[_Flight | None] = Queue(
            FLIGHTS_PER_DECODER * max(1, len(self.decoders)))
        self._receiving: list[Queue[_Flight | None]] = [Queue() for _ in self.decoders]
        self._sent = 0

    def run(self) -> None:
        if not self.decoders:
            self._run_inline()
            return
        threads = [threading.Thread(target=self._apply_loop, name="mlmon-apply", daemon=True)]
        threads += [threading.Thread(target=self._receive_loop, args=(d, q), daemon=True,
                                     name=f"mlmon-receive-{i}")
                    for i, (d, q) in enumerate(zip(self.decoders, self._receiving, strict=True))]
        for t in threads:
            t.start()
        try:
            while True:
                items = self.queue.get(timeout=0.5)
                if not items:
                    if self.queue.closed and not self.queue.items:
                        return
                    continue
                self._flights.put(self._send(items))
        finally:
            self._flights.put(None)
            for q in self._receiving:
                q.put(None)
            for t in threads:
                t.join()
            for d in self.decoders:
                d.close()

    def _run_inline(self) -> None:
        while True:
            items = self.queue.get(timeout=0.5)
            if not items:
                if self.queue.closed and not self.queue.items:
                    return
                self.expire()
                continue
            self._guarded(_Flight(items, _lines(items), None))

    def _send(self, items: list[Item]) -> _Flight:
        lines = _lines(items)
        if not self.decoders_ok:
            return _Flight(items, lines, None)
        index = self._sent % len(self.decoders)
        target = self.decoders[index]
        self._sent += 1
        try:
            target.send(lines)
        except DecoderGone as exc:
            self._lost(exc)
            return _Flight(items, lines, None)
        flight = _Flight(items, lines, target)
        self._receiving[index].put(flight)
        return flight

    @staticmethod
    def _receive_loop(decoder: DecoderProcess, flights: Queue[_Flight | None]) -> None:
        while (flight := flights.get()) is not None:
            try:
                flight.reply = decoder.receive()
            except DecoderGone as exc:
                flight.reply = exc
            except BaseException as exc:  # never leave the applier waiting
                flight.reply = DecoderGone(f"{decoder.name}: {exc!r}")
            finally:
                flight.done.set()

    def _apply_loop(self) -> None:
        while True:
            try:
                flight = self._flights.get(timeout=0.5)
            except Empty:
                self.expire()
                continue
            if flight is None:
                return
            self._guarded(flight)

    def _decoded(self, flight: _Flight) -> DecodedBatch:
        if flight.decoder is not None:
            flight.done.wait()
            if isinstance(flight.reply, bytes):
                try:
                    return DecoderProcess.result(flight.reply)
                except BatchFailed as exc:  # a bug in the child: log it, try once here
                    log.error("decoder process failed on a batch; decoding it here:\n%s", exc)
            elif isinstance(flight.reply, DecoderGone):
                self._lost(flight.reply)
        return self.decoder.decode(flight.lines)

    def _lost(self, exc: DecoderGone) -> None:
        if self.decoders_ok:
            log.error("%s; decoding in the sidecar process from now on", exc)
        self.decoders_ok = False

    def _guarded(self, flight: _Flight) -> None:
        try:
            self.apply(flight.items, flight.lines, self._decoded(flight))
        except Exception:  # never let one batch kill ingestion
            log.exception("ingest batch failed; %d lines dropped", len(flight.lines))
            for item in flight.items:  # an HTTP post gets its answer: a 500
                if item.reply is not None and not item.reply.done():
                    item.reply.set_exception(RuntimeError("ingest batch failed; see the log"))
        finally:
            self.processed += len(flight.lines)  # applied, or dropped and logged

    def expire(self) -> None:
        now = self.clock()
        try:
            with self.store.lock:
                for model in self.store.models.values():
                    model.join.expire(now)
        except Exception:  # a bug; the ingest threads must live on
            log.exception("label expiry failed")

    def apply(self, items: list[Item], lines: list[bytes], decoded: DecodedBatch) -> None:
        now = self.clock()
        rejected = decoded.rejected
        with self.store.lock:
            for key, batch in decoded.models.items():
                if self.decode_only:  # benchmark baseline: count, do not update
                    self.store.models[key].predictions_total += len(batch)
                else:
                    self.store.models[key].update(batch, now, rejected)
            self.store.reject(rejected)
        if rejected:
            total = sum(rejected.values())
            detail = " ".join(f"{r}={n}" for r, n in sorted(rejected.items()))
            self.rate_log.warning("rejected %d of %d lines: %s", total, len(lines), detail)
        for item in items:
            if item.reply is not None and not item.reply.done():
                accepted = len(lines) - sum(rejected.values())
                item.reply.set_result(Counter({"accepted": accepted}) + rejected)


def _lines(items: list[Item]) -> list[bytes]:
    return items[0].lines if len(items) == 1 else [x for i in items for x in i.lines]


class Intake:
    """What readers call: count received lines, queue them, count drops."""

    def __init__(self, store: Store, queue: IngestQueue) -> None:
        self.store = store
        self.queue = queue
        self.max_line = store.config.server.max_line_bytes

    def submit(self, transport: str, lines: list[bytes], too_long: int = 0,
               reply: Future[Counter[str]] | None = None) -> int:
        dropped = self.queue.put(Item(lines, reply)) if lines or reply else 0
        with self.store.lock:
            self.store.received[transport] += len(lines) + too_long
            extra: Counter[str] = Counter()
            if too_long:
                extra["line_too_long"] = too_long
            if dropped:
                extra["queue_full"] = dropped
            if extra:
                self.store.reject(extra)
        return dropped

    def drop(self, transport: str, lines: int, too_long: int) -> None:
        with self.store.lock:
            self.store.received[transport] += lines + too_long
            self.store.reject(Counter({"queue_full": lines, "line_too_long": too_long}))

    async def serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           transport: str) -> None:
        """Serve one tap connection until the peer closes it (or the task is cancelled).

        The connection is taken over from the StreamReader by a buffered protocol:
        the event loop reads straight into one reusable buffer (no allocation per
        read, no copy through the StreamReader) and lines are queued in the callback.
        """
        loop = asyncio.get_running_loop()
        conn = _Connection(self, transport, loop.create_future())
        sock = writer.transport
        try:
            sock.set_protocol(conn)
            conn.transport = sock
            # The handler runs before the loop first reads the socket, so the stream
            # normally holds nothing; anything it does hold is fed first.
            reader.feed_eof()
            early = await reader.read()
            if early:
                conn.data(early)
            if isinstance(sock, asyncio.ReadTransport) and not sock.is_closing():
                sock.resume_reading()
            await conn.done
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


class _Connection(asyncio.BufferedProtocol):
    """One tap connection: reads into a reusable buffer, splits lines, queues them."""

    def __init__(self, intake: Intake, name: str, done: asyncio.Future[None]) -> None:
        self.intake = intake
        self.name = name
        self.done = done
        self.splitter = LineSplitter(intake.max_line)
        self.buffer = bytearray(READ_SIZE)
        self.view = memoryview(self.buffer)
        self.transport: asyncio.BaseTransport | None = None

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        self.data(bytes(self.view[:nbytes]))

    def data(self, chunk: bytes) -> None:
        intake, splitter = self.intake, self.splitter
        if intake.queue.full:  # drop cheaply: counting is enough, no split
            intake.drop(self.name, splitter.skip(chunk), splitter.take_too_long())
            # Stop reading for a moment so the worker gets the GIL: reading would
            # otherwise outrun it, spending its time on lines that are dropped anyway.
            sock = self.transport
            if isinstance(sock, asyncio.ReadTransport) and sock.is_reading():
                sock.pause_reading()
                asyncio.get_running_loop().call_later(FULL_PAUSE, self._resume)
            return
        intake.submit(self.name, splitter.feed(chunk), splitter.take_too_long())

    def _resume(self) -> None:
        sock = self.transport
        if isinstance(sock, asyncio.ReadTransport) and not sock.is_closing():
            sock.resume_reading()

    def eof_received(self) -> bool:
        if not self.done.done():  # the peer closed cleanly: its last line counts
            self.intake.submit(self.name, self.splitter.finish(), self.splitter.take_too_long())
            self.done.set_result(None)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():  # reset, or closed by us: a partial last line is not a line
            self.done.set_result(None)
