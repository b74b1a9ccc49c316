"""What the tap readers call: count received lines, queue them, pause while the queue is full.

Readers (asyncio) never block on the state and never drop for lack of room: a
stream connection's read is queued whole, and while the queue is full every
stream connection stops reading, so the kernel buffers and the clients' own
bounded queues absorb a burst. The worker thread wakes the readers (through the
event loop) once the queue has drained to half its bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from concurrent.futures import Future

from exporter.ratelog import KeyedRateLimitedLog
from exporter.sidecar.ingest.lines import LineSplitter
from exporter.sidecar.ingest.queue import IngestQueue, Item
from exporter.sidecar.state import SidecarState

# One read buffer shared by every connection of the loop: the loop reads one socket at a
# time and each read is copied out at once, so idle connections cost no buffer.
READ_SIZE = 1 << 18

log = KeyedRateLimitedLog(logging.getLogger("mlmon.serve"), per_second=1 / 60.0, burst=1)


class Intake:
    """What readers call: count received lines, queue them, pause and resume the streams."""

    def __init__(self, store: SidecarState, queue: IngestQueue) -> None:
        srv = store.config.server
        self.store = store
        self.queue = queue
        self.max_line = srv.max_line_bytes
        self.max_connections = srv.max_connections
        self.idle_timeout = srv.idle_timeout
        self.connections: set[_Connection] = set()
        self.open: Counter[str] = Counter()  # open stream connections by transport
        self.refused: Counter[str] = Counter()  # connections refused over max_connections
        self.idle_closed: Counter[str] = Counter()  # connections closed after idle_timeout
        self.paused = False
        self.buffer = memoryview(bytearray(READ_SIZE))
        self._loop: asyncio.AbstractEventLoop | None = None
        queue.on_room = self._room

    def submit(self, transport: str, lines: list[bytes], too_long: int = 0,
               reply: Future[Counter[str]] | None = None, force: bool = False) -> int:
        """Count and queue lines; returns how many were dropped (``force``: only if closed)."""
        dropped = self.queue.put(Item(lines, reply), force) if lines or reply else 0
        self.count(transport, len(lines) + too_long, too_long, dropped)
        return dropped

    def count(self, transport: str, received: int, too_long: int = 0, dropped: int = 0,
              truncated: int = 0) -> None:
        """Count received lines, and the over-long, dropped and cut-off ones among them as
        rejected."""
        with self.store.lock:
            self.store.received[transport] += received
            extra: Counter[str] = Counter()
            if too_long:
                extra["line_too_long"] = too_long
            if dropped:
                extra["queue_full"] = dropped
            if truncated:
                extra["truncated"] = truncated
            if extra:
                self.store.reject(extra)

    # --- back-pressure (event loop thread) ----------------------------------------------
    def pause_all(self) -> None:
        """The queue is full: stop reading every stream until the worker drains it."""
        if not self.paused:
            self.paused = True
            for conn in self.connections:
                conn.pause()
        if self.queue.want_room():  # drained meanwhile: on_room will not be called
            self.resume_all()

    def resume_all(self) -> None:
        # No room again (an HTTP post filled the queue since the worker's wake-up): ask to
        # be woken at the next drain instead, or the streams would stay paused for good.
        if not self.paused or not self.queue.want_room():
            return
        self.paused = False
        for conn in list(self.connections):
            conn.resume()

    def _room(self) -> None:
        """Called by the worker thread at the low-water mark: resume on the loop's thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # RuntimeError: the loop closed in between, so there is nothing left to resume.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.resume_all)

    # --- connections ---------------------------------------------------------------------
    async def serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           transport: str) -> None:
        """Serve one tap connection until the peer closes it, it idles out or is cancelled.

        The connection is taken over from the StreamReader by a buffered protocol:
        the event loop reads straight into the shared buffer (no allocation per read,
        no copy through the StreamReader) and lines are queued in the callback.
        """
        loop = self._loop = asyncio.get_running_loop()
        if len(self.connections) >= self.max_connections:
            self.refused[transport] += 1
            log.warning("refused", "refusing %s tap connection: server.max_connections (%d) "
                        "are open", transport, self.max_connections)
            writer.transport.abort()
            return
        conn = _Connection(self, transport, loop.create_future())
        sock = writer.transport
        self.connections.add(conn)
        self.open[transport] += 1
        try:
            sock.set_protocol(conn)
            conn.transport = sock
            conn.watch_idle()
            # The handler runs before the loop first reads the socket, so the stream
            # normally holds nothing; anything it does hold is fed first.
            reader.feed_eof()
            early = await reader.read()
            if early:
                conn.data(early)
            if self.paused:
                conn.pause()
            else:
                conn.resume()
            await conn.done
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            conn.stop_watching()
            self.connections.discard(conn)
            self.open[transport] -= 1
            writer.close()


class _Connection(asyncio.BufferedProtocol):
    """One tap connection: reads into the shared buffer, splits lines, queues them."""

    def __init__(self, intake: Intake, name: str, done: asyncio.Future[None]) -> None:
        self.intake = intake
        self.name = name
        self.done = done
        self.splitter = LineSplitter(intake.max_line)
        self.transport: asyncio.BaseTransport | None = None
        self.loop = done.get_loop()
        self.last = self.loop.time()
        self.timer: asyncio.TimerHandle | None = None

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.intake.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data(bytes(self.intake.buffer[:nbytes]))

    def data(self, chunk: bytes) -> None:
        self.last = self.loop.time()
        intake, splitter = self.intake, self.splitter
        intake.submit(self.name, splitter.feed(chunk), splitter.take_too_long(), force=True)
        if intake.queue.full:
            intake.pause_all()

    def pause(self) -> None:
        sock = self.transport
        if isinstance(sock, asyncio.ReadTransport) and sock.is_reading():
            sock.pause_reading()

    def resume(self) -> None:
        sock = self.transport
        if isinstance(sock, asyncio.ReadTransport) and not sock.is_closing() \
                and not sock.is_reading():
            sock.resume_reading()
        self.last = self.loop.time()  # time spent paused is not idle time

    # --- idle timeout: one timer per connection, re-armed at most once per period ------
    def watch_idle(self) -> None:
        self.timer = self.loop.call_at(self.last + self.intake.idle_timeout, self._check_idle)

    def stop_watching(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _check_idle(self) -> None:
        sock = self.transport
        if sock is None or sock.is_closing() or self.done.done():
            return
        if self.intake.paused:  # waiting for the queue is not idling
            self.last = self.loop.time()
        elif self.loop.time() - self.last >= self.intake.idle_timeout:
            self.intake.idle_closed[self.name] += 1
            sock.close()  # connection_lost ends the handler
            return
        self.watch_idle()

    def eof_received(self) -> bool:
        if not self.done.done():  # the peer closed cleanly: its last line counts
            self.intake.submit(self.name, self.splitter.finish(), self.splitter.take_too_long(),
                               force=True)
            self.done.set_result(None)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():  # reset, or closed by us: a partial last line was cut off
            cut = self.splitter.truncated()
            too_long = self.splitter.take_too_long()
            if cut or too_long:
                self.intake.count(self.name, cut + too_long, too_long, truncated=cut)
            self.done.set_result(None)
