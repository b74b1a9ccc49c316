"""AsyncTap: the asyncio client for async model servers (FastAPI, aiohttp, ...)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from exporter.client.address import Address
from exporter.client.backoff import Backoff
from exporter.client.core import DEFAULT_QUEUE_SIZE, TapCore, frame


class AsyncTap(TapCore):
    """Same calls as :class:`~exporter.client.Tap`; a writer task on the running loop sends.

    ``prediction`` and ``label`` are plain (non-async) methods: they only encode and
    enqueue, so they cost the handler microseconds and never await. Call them from the
    event loop's thread. The writer task starts with the first call made inside a
    running loop (or ``await tap.start()``); ``await tap.aclose()`` flushes and stops it.
    """

    def __init__(self, address: str | Path | Address, *, queue_size: int = DEFAULT_QUEUE_SIZE,
                 backoff: Backoff | None = None, connect_timeout: float = 1.0,
                 log_interval: float = 60.0) -> None:
        super().__init__(address, queue_size=queue_size, backoff=backoff,
                         connect_timeout=connect_timeout, log_interval=log_interval)
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._idle = False

    async def start(self) -> None:
        """Start the writer task now (otherwise the first call inside the loop starts it)."""
        self._ensure_task()

    async def aclose(self, timeout: float = 2.0) -> bool:
        """Flush what can be sent within ``timeout`` seconds; True when nothing was lost."""
        self._closed = True
        task = self._task
        if task is not None and not task.done():
            assert self._stopping is not None and self._wake is not None
            self._stopping.set()
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._drain_as_dropped()
        return self._nothing_lost()

    async def __aenter__(self) -> AsyncTap:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- writer task -----------------------------------------------------------------
    def _ensure_task(self) -> None:
        if self._task is not None or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # called outside a loop: stays queued until a call inside one
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task = loop.create_task(self._run(), name="mlmon-tap")

    def _wake_writer(self) -> None:
        if self._task is None:
            self._ensure_task()
        elif self._idle:
            self._idle = False
            assert self._wake is not None
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None and self._stopping is not None
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        batch: list[bytes] = []
        try:
            while True:
                if writer is None:
                    if self._stopping.is_set() and not self._queue:
                        break
                    try:
                        reader, writer = await asyncio.wait_for(self.address.open(),
                                                                self.connect_timeout)
                    except (OSError, TimeoutError) as exc:
                        self._warn("connect", f"cannot connect to {self.address}: {exc}")
                        if self._stopping.is_set():
                            break  # aclose() counts what is left as dropped
                        self._drain_as_dropped()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._stopping.wait(), self.backoff.next())
                        continue
                    self.backoff.reset()
                    self._set_connected(True)
                batch = self._take_batch()
                if not batch:
                    if self._stopping.is_set():
                        break
                    self._wake.clear()
                    self._idle = True
                    if not self._queue:
                        await self._wake.wait()
                    self._idle = False
                    continue
                assert writer is not None
                if reader is not None and reader.at_eof():
                    # The sidecar never writes back: EOF means it closed the connection
                    # (e.g. restarted). Nothing of this batch was written: keep it.
                    self._queue.extendleft(reversed(batch))
                    batch = []
                    self._warn("write", f"sidecar at {self.address} closed the "
                                      "connection")
                    await self._close_writer(writer)
                    reader = writer = None
                    continue
                try:
                    writer.write(frame(batch))
                    await writer.drain()
                except OSError as exc:
                    self._count_disconnected(len(batch))
                    self._warn("write", f"connection to {self.address} lost: {exc!r}")
                    await self._close_writer(writer)
                    reader = writer = None
                    batch = []
                    continue
                self._count_sent(len(batch))
                batch = []
        except asyncio.CancelledError:
            # aclose() timed out, probably on a sidecar that stopped reading: a graceful
            # close would wait for the unsent buffer forever.
            if writer is not None:
                self._set_connected(False)
                writer.transport.abort()
            if batch:
                self._count_disconnected(len(batch))
            raise
        if writer is not None:
            await self._close_writer(writer)

    async def _close_writer(self, writer: asyncio.StreamWriter) -> None:
        self._set_connected(False)
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), self.connect_timeout)
