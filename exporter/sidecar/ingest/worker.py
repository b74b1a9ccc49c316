"""The ingest worker: drains the queue in micro-batches, decodes and applies them in order.

Decoder processes (``server.decode_processes``) decode the batches, or the
worker itself when there are none; the state is updated under its lock in
arrival order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from queue import Empty, Queue

from exporter.ratelog import RateLimitedLog
from exporter.sidecar.ingest.decode import BatchDecoder, DecodedBatch
from exporter.sidecar.ingest.decode_process import BatchFailed, DecoderGone, DecoderProcess
from exporter.sidecar.ingest.queue import IngestQueue, Item
from exporter.sidecar.state import SidecarState

log = logging.getLogger("mlmon.ingest")


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

    def __init__(self, store: SidecarState, decoder: BatchDecoder, queue: IngestQueue,
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
