"""The running sidecar: listeners, ingest worker, compute and persist loops, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector

from exporter.atomic import remove_temp_files
from exporter.config.model import Config
from exporter.profile.files import load_profile
from exporter.profile.match import check_profile
from exporter.profile.model import Profile
from exporter.sidecar.compute import compute
from exporter.sidecar.exposition import Exposition
from exporter.sidecar.http import build_app
from exporter.sidecar.ingest.decode import BatchDecoder
from exporter.sidecar.ingest.decode_process import DecoderProcess
from exporter.sidecar.ingest.intake import Intake
from exporter.sidecar.ingest.queue import IngestQueue
from exporter.sidecar.ingest.worker import IngestWorker
from exporter.sidecar.metrics import IngestLoad, RuntimeStats, SidecarCollector
from exporter.sidecar.persist import restore, save
from exporter.sidecar.snapshot import EMPTY, Snapshot
from exporter.sidecar.state import SidecarState
from exporter.sidecar.trim import trim
from exporter.types import ModelKey

log = logging.getLogger("mlmon.serve")

SWITCH_INTERVAL = 0.0005  # seconds (CPython default 0.005); measured in bench/ingest.py


def split_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def _bracket(host: str) -> str:
    """``::1`` -> ``[::1]``: an IPv6 host in HOST:PORT."""
    return f"[{host}]" if ":" in host else host


class ProfileFiles(Mapping[ModelKey, Profile]):
    """The configured profiles, each read from its file when asked for and not kept.

    The store reads each profile once into numpy references, so loading them one
    at a time keeps only one profile's parsed JSON in memory at start-up, not all.
    Raises ProfileError naming the file, also when it was built for another model.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._paths = {m.key: m.profile for m in config.models if m.profile is not None}

    def __getitem__(self, key: ModelKey) -> Profile:
        path = self._paths[key]
        index, model = next((i, m) for i, m in enumerate(self._config.models) if m.key == key)
        return check_profile(load_profile(path), path, model, index, self._config.path)

    def __iter__(self) -> Iterator[ModelKey]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


class Sidecar:
    def __init__(self, config: Config, profiles: Mapping[ModelKey, Profile],
                 clock: Callable[[], float] = time.time, decode_only: bool = False) -> None:
        srv = config.server
        self.config = config
        self.clock = clock
        self.started = clock()
        self.store = SidecarState(config, profiles)
        self.queue = IngestQueue(srv.queue_size)
        self.intake = Intake(self.store, self.queue)
        self.decode_only = decode_only
        self.worker: IngestWorker | None = None
        self.stats = RuntimeStats()
        collector = SidecarCollector(self.store, self.snapshot, self.stats,
                                     lambda: self.queue.size, srv.queue_size, self._ingest_load)
        process = ProcessCollector(registry=None)
        self.registry = CollectorRegistry()
        self.registry.register(collector)
        self.registry.register(process)
        self.exposition = Exposition(collector, [process])
        self._snapshot: Snapshot = EMPTY
        self._servers: list[asyncio.AbstractServer] = []
        self._connections: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlmon-compute")
        self._listening = False
        self.addresses: dict[str, str] = {}

    @property
    def ready(self) -> bool:
        return self._listening

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def _ingest_load(self) -> IngestLoad:
        i = self.intake
        restarts = self.worker.decoder_restarts if self.worker is not None else 0
        return IngestLoad(self.queue.bytes, self.queue.max_bytes, dict(i.open), dict(i.refused),
                          restarts)

    # --- start ------------------------------------------------------------------------

    async def start(self) -> None:
        srv = self.config.server
        if srv.state_file is not None:
            # a kill -9 during a save leaves its temporary file: nothing else removes it
            removed = remove_temp_files(srv.state_file)
            if removed:
                log.info("removed %d leftover temporary file(s) of %s: %s", len(removed),
                         srv.state_file, ", ".join(p.name for p in removed))
            restore(self.store, srv.state_file)
        self.worker = IngestWorker(self.store, BatchDecoder(self.config), self.queue,
                                   self.clock, self.decode_only, self._decoders())
        self.worker.start()
        try:
            await self._listen()
        except BaseException:  # e.g. the HTTP port is taken: leave no threads or children
            self.queue.close()
            await self._join_worker()
            raise

    async def _listen(self) -> None:
        srv = self.config.server
        self._runner = web.AppRunner(build_app(self), access_log=None)
        await self._runner.setup()
        host, port = split_host_port(srv.http)
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0] if self._runner.addresses else (host, port)
        self.addresses["http"] = f"http://{_bracket(host)}:{bound[1]}"
        if srv.socket is not None:
            await self._start_unix(srv.socket, srv.socket_mode)
        if srv.tcp is not None:
            thost, tport = split_host_port(srv.tcp)
            server = await asyncio.start_server(self._handler("tcp"), thost, tport,
                                                limit=1 << 20)
            self._servers.append(server)
            tb = server.sockets[0].getsockname()
            self.addresses["tcp"] = f"{_bracket(tb[0])}:{tb[1]}"
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._compute_loop()))
        if srv.state_file is not None:
            self._tasks.append(loop.create_task(self._persist_loop(srv.state_file)))
        self._listening = True
        # The announcement (exporter/demo/programs.py): with port 0 it tells the bound ports.
        log.info("mlmon serve listening on %s; %s; models: %s", self.addresses["http"],
                 " ".join(f"{k}={v}" for k, v in self.addresses.items() if k != "http"),
                 ", ".join(f"{m.name}:{m.version}" for m in self.config.models))

    async def _join_worker(self) -> None:
        """Wait for the worker to drain (polled: a timeout can cancel this cleanly)."""
        while self.worker is not None and self.worker.is_alive():
            await asyncio.sleep(0.02)

    def _decoders(self) -> list[DecoderProcess]:
        out: list[DecoderProcess] = []
        try:
            for i in range(self.config.server.decode_processes):
                out.append(DecoderProcess(self.config, f"mlmon-decoder-{i}"))
        except OSError as exc:
            log.error("cannot start decoder process (%s); decoding in the sidecar", exc)
            for d in out:
                d.close()
            return []
        return out

    async def _start_unix(self, path: Path, mode: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(path.lstat().st_mode):
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    probe.connect(str(path))
                except OSError:
                    path.unlink()  # stale socket left by a previous run
                else:
                    raise OSError(f"{path}: another process is listening on this socket")
                finally:
                    probe.close()
        server = await asyncio.start_unix_server(self._handler("unix"), str(path),
                                                 limit=1 << 20)
        os.chmod(path, mode)
        self._servers.append(server)
        self.addresses["unix"] = str(path)

    def _handler(self, transport: str) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                                    asyncio.Future[None]]:
        def handle(reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter) -> asyncio.Future[None]:
            task = asyncio.ensure_future(self.intake.serve_stream(reader, writer, transport))
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
            return task
        return handle

    # --- periodic work -----------------------------------------------------------------

    async def compute_now(self) -> Snapshot:
        loop = asyncio.get_running_loop()
        snap = await loop.run_in_executor(self._executor, _compute_and_trim, self.store,
                                          self.clock)
        self._snapshot = snap
        self.stats.observe_compute(snap.duration)
        return snap

    async def _compute_loop(self) -> None:
        while True:
            try:
                await self.compute_now()
            except Exception:
                log.exception("compute cycle failed; keeping the previous snapshot")
            await asyncio.sleep(self.config.compute_interval)

    async def save_state(self, path: Path) -> bool:
        """Write the state file; False (logged, counted) when it could not be written."""
        loop = asyncio.get_running_loop()
        try:
            size = await loop.run_in_executor(None, _save_and_trim, self.store, path)
            log.debug("state written to %s (%d bytes)", path, size)
            result = "ok"
        except OSError as exc:
            log.error("cannot write state file %s: %s", path, exc)
            result = "error"
        with self.stats.lock:
            self.stats.saves[result] += 1
        return result == "ok"

    async def _persist_loop(self, path: Path) -> None:
        while True:
            await asyncio.sleep(self.config.server.state_interval)
            await self.save_state(path)

    # --- stop ---------------------------------------------------------------------------

    async def stop(self) -> bool:
        """Stop accepting, drain the queue, write the state; False when that write failed."""
        self._listening = False
        for server in self._servers:
            server.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Connections get a moment to read what their peers already sent, then are closed.
        if self._connections:
            grace = min(1.0, self.config.server.shutdown_timeout / 4)
            _, still_open = await asyncio.wait(list(self._connections), timeout=grace)
            for t in still_open:
                t.cancel()
            await asyncio.gather(*still_open, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
        self.queue.close()
        await self._join_worker()
        saved = True
        if self.config.server.state_file is not None:
            saved = await self.save_state(self.config.server.state_file)
        sock = self.config.server.socket
        if sock is not None and "unix" in self.addresses:
            with contextlib.suppress(OSError):
                sock.unlink()
        self._executor.shutdown(wait=False, cancel_futures=True)
        return saved


def _compute_and_trim(store: SidecarState, clock: Callable[[], float]) -> Snapshot:
    snap = compute(store, clock)
    trim()  # the cycle's temporaries: back to the system, not kept as free heap
    return snap


def _save_and_trim(store: SidecarState, path: Path) -> int:
    try:
        return save(store, path)
    finally:
        trim()


async def serve(sidecar: Sidecar, stop: asyncio.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or ``stop``); returns the exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await sidecar.start()
    await stop.wait()
    log.info("shutting down: draining %d queued events", sidecar.queue.size)
    timeout = sidecar.config.server.shutdown_timeout
    try:
        saved = await asyncio.wait_for(sidecar.stop(), timeout)
    except TimeoutError:
        log.error("shutdown did not finish within %.1fs; exiting anyway", timeout)
        return 1
    if not saved:  # the windows and pending labels of this run are lost: say so
        log.error("stopped, but the final state save failed; exiting with status 1")
        return 1
    log.info("stopped")
    return 0
