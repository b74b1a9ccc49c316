"""The ingest worker: drains the queue in micro-batches, decodes and applies them in order.

Decoder processes (``server.decode_processes``) decode the batches, or the
worker itself when there are none; the state is updated under its lock in
arrival order. A decoder process that dies is reaped and started again after
a backoff; meanwhile its batches are decoded in the sidecar process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from queue import Empty, Queue

from exporter.metric_names import PREDICTION_FEATURE
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
RESTART_DELAY = 0.5  # seconds before the first restart of a dead decoder; doubles per failure
RESTART_DELAY_MAX = 30.0
STABLE_AFTER = 60.0  # seconds a decoder must have lived for its death to reset the backoff
# seconds a small batch waits for more lines: at 1,000 events/s, one batch of ~20 instead
# of many of one or two, each paying the fixed cost of a decode round trip and a state
# update (measured in bench/one_cpu.py); unnoticeable next to the compute interval
LINGER = 0.02


class IngestWorker(threading.Thread):
    """Takes micro-batches off the queue, decodes them and applies them to the state.

    Without decoder processes this thread does both. With them, this thread only
    sends each batch to a child (round-robin); a receiver thread per child slot
    reads its replies as soon as they are written (so a child never waits for
    the state update), and an applier thread applies the batches in the order
    they were sent. A batch whose child died is decoded in the applier, so
    nothing sent is lost; this thread reaps the dead child and starts a new one
    after a backoff (0.5 s doubling to 30 s while children keep dying young).
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
        self.decoders = list(decoders)  # one per slot; replaced when it dies
        self._down: list[float | None] = [None] * len(self.decoders)  # restart time if down
        self._failures = [0] * len(self.decoders)
        self.decoder_restarts = 0
        self.child_batches = 0  # batches decoded by a child process
        self.processed = 0  # lines applied (or dropped by a failed batch): see IngestQueue.taken
        self.rate_log = RateLimitedLog(log)
        self._fault_log = RateLimitedLog(log)  # failed batches and decoders: own budget
        self._flights: Queue[_Flight | None] = Queue(
            FLIGHTS_PER_DECODER * max(1, len(self.decoders)))
        self._receiving: list[Queue[_Flight | None]] = [Queue() for _ in self.decoders]
        self._sent = 0

    @property
    def decoders_ok(self) -> bool:
        """Every decoder slot has a running child."""
        return bool(self.decoders) and all(d is None for d in self._down)

    def run(self) -> None:
        if not self.decoders:
            self._run_inline()
            return
        threads = [threading.Thread(target=self._apply_loop, name="mlmon-apply", daemon=True)]
        threads += [threading.Thread(target=self._receive_loop, args=(q,), daemon=True,
                                     name=f"mlmon-receive-{i}")
                    for i, q in enumerate(self._receiving)]
        for t in threads:
            t.start()
        try:
            while True:
                self._tend()
                items = self.queue.get(timeout=0.5, linger=LINGER)
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
            items = self.queue.get(timeout=0.5, linger=LINGER)
            if not items:
                if self.queue.closed and not self.queue.items:
                    return
                self.expire()
                continue
            self._guarded(_Flight(items, _lines(items), None))

    def _send(self, items: list[Item]) -> _Flight:
        lines = _lines(items)
        up = [i for i, down in enumerate(self._down) if down is None]
        if not up:
            return _Flight(items, lines, None)
        index = up[self._sent % len(up)]
        target = self.decoders[index]
        self._sent += 1
        try:
            target.send(lines)
        except DecoderGone as exc:
            self._retire(index, str(exc))
            return _Flight(items, lines, None)
        flight = _Flight(items, lines, target)
        self._receiving[index].put(flight)
        return flight

    def _tend(self) -> None:
        """Reap dead (or broken) children and start the ones whose backoff is over."""
        now = time.monotonic()
        for i, down in enumerate(self._down):
            d = self.decoders[i]
            if down is None:
                if d.broken or d.exited():  # exited() reaps a dead child
                    self._retire(i, f"{d.name} (pid {d.pid}) exited (code {d.returncode})")
            elif now >= down:
                self._restart(i)

    def _retire(self, index: int, why: str) -> None:
        d = self.decoders[index]
        d.stop()
        young = time.monotonic() - d.started < STABLE_AFTER
        self._failures[index] = self._failures[index] + 1 if young else 1
        delay = min(RESTART_DELAY_MAX, RESTART_DELAY * 2 ** (self._failures[index] - 1))
        self._down[index] = time.monotonic() + delay
        log.error("%s; decoding in the sidecar process, restarting it in %.1fs", why, delay)

    def _restart(self, index: int) -> None:
        old = self.decoders[index]
        try:
            new = DecoderProcess(old.config, old.name)
        except OSError as exc:
            self._retire(index, f"cannot restart {old.name}: {exc}")
            return
        self.decoders[index] = new
        self._down[index] = None
        self.decoder_restarts += 1
        log.warning("%s restarted (pid %d)", new.name, new.pid)

    @staticmethod
    def _receive_loop(flights: Queue[_Flight | None]) -> None:
        while (flight := flights.get()) is not None:
            decoder = flight.decoder
            assert decoder is not None
            try:
                flight.reply = decoder.receive()
            except DecoderGone as exc:
                flight.reply = exc
            except BaseException as exc:  # never leave the applier waiting
                flight.reply = DecoderGone(f"{decoder.name}: {exc!r}")
            finally:
                if isinstance(flight.reply, DecoderGone):
                    decoder.broken = True  # the sender thread stops and replaces it
                    decoder.close_replies()  # later flights to it fail at once
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
                    decoded = DecoderProcess.result(flight.reply)
                except BatchFailed as exc:  # a bug in the child: log it, try once here
                    self._fault_log.warning("decoder process failed on a batch; decoding it "
                                            "here:\n%s", exc)
                else:
                    self.child_batches += 1
                    return decoded
        return self.decoder.decode(flight.lines)

    def _guarded(self, flight: _Flight) -> None:
        try:
            self.apply(flight.items, flight.lines, self._decoded(flight))
        except Exception as exc:  # never let one batch kill ingestion; count what it loses
            n = len(flight.lines)
            self._fault_log.warning("ingest batch failed; %d lines rejected as internal_error: "
                                    "%s: %s", n, type(exc).__name__, exc)
            log.debug("ingest batch failure", exc_info=True)
            with self.store.lock:
                self.store.reject(Counter({"internal_error": n}))
            for item in flight.items:  # an HTTP post gets its counts
                if item.reply is not None and not item.reply.done():
                    item.reply.set_result(Counter({"accepted": 0,
                                                   "internal_error": len(item.lines)}))
        finally:
            self.processed += len(flight.lines)  # applied, or rejected and counted

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
        examples = decoded.examples
        with self.store.lock:
            for key, batch in decoded.models.items():
                if self.decode_only:  # benchmark baseline: count, do not update
                    self.store.models[key].predictions_total += len(batch)
                    continue
                before = sum(rejected.values())
                self.store.models[key].update(batch, now, rejected)
                if sum(rejected.values()) != before:  # bad predictions or labels: name the model
                    for reason in rejected.keys() - examples.keys():
                        examples[reason] = (f"model {key[0]!r} version {key[1]!r}: "
                                            f"{PREDICTION_FEATURE} or label")
            self.store.reject(rejected)
            self.store.last_rejection.update(examples)
        if rejected:
            total = sum(rejected.values())
            detail = " ".join(f"{r}={n}" for r, n in sorted(rejected.items()))
            examples_text = "; ".join(f"{r}: {why}" for r, why in sorted(examples.items()))
            self.rate_log.warning("rejected %d of %d lines: %s%s", total, len(lines), detail,
                                  f" (e.g. {examples_text})" if examples_text else "")
        for item in items:
            if item.reply is not None and not item.reply.done():
                accepted = len(lines) - sum(rejected.values())
                item.reply.set_result(Counter({"accepted": accepted}) + rejected)


def _lines(items: list[Item]) -> list[bytes]:
    return items[0].lines if len(items) == 1 else [x for i in items for x in i.lines]
