"""What the tap readers call: count received lines, queue them, count what is dropped.

Readers (asyncio) never block on the state: they put lines into the bounded
queue and count what does not fit as ``queue_full``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import Future

from exporter.sidecar.ingest.lines import LineSplitter
from exporter.sidecar.ingest.queue import IngestQueue, Item
from exporter.sidecar.state import SidecarState

READ_SIZE = 1 << 18  # bytes per socket read (one reusable buffer per connection)
FULL_PAUSE = 0.001  # seconds between reads while the queue is full


class Intake:
    """What readers call: count received lines, queue them, count drops."""

    def __init__(self, store: SidecarState, queue: IngestQueue) -> None:
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
