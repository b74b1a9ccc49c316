"""The intake's accounting on a running sidecar: lines that reach a closed queue (the sidecar
shutting down) are received and rejected as queue_full, so received = accepted + rejected
still holds; a POST the queue cannot take is answered 503 and counted nowhere."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.sidecar.ingest.intake import Intake
from exporter.sidecar.ingest.queue import IngestQueue
from exporter.sidecar.runtime import Sidecar
from exporter.sidecar.state import SidecarState
from tests.factories import config, fraud_model, fraud_profile
from tests.sidecar.threaded import Running, running, send_unix

LINE = b'{"v":1,"model":"fraud","version":"1","prediction":0.5}'


def _counts(r: Running) -> dict[str, float]:
    with urllib.request.urlopen(r.http + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for fam in parse_text(text):
        for s in fam.samples:
            if s.name == "mlmon_events_received_total":
                out[f"received_{s.labels['transport']}"] = s.value
            elif s.name == "mlmon_events_rejected_total" and s.value:
                out[f"rejected_{s.labels['reason']}"] = s.value
            elif s.name == "mlmon_predictions_total":
                out["predictions"] = s.value
    return out


def _wait_for_received(r: Running, transport: str, n: float) -> None:
    """Wait until the readers have counted ``n`` lines (they count as they read)."""
    deadline = time.monotonic() + 20
    while _counts(r)[f"received_{transport}"] < n:
        assert time.monotonic() < deadline, f"never received {n} {transport} lines"
        time.sleep(0.02)


def test_lines_reaching_a_closed_queue_are_counted_as_queue_full(tmp_path: Path) -> None:
    m = fraud_model()
    cfg = config(m, tmp=tmp_path, decode_processes=0)
    with running(Sidecar(cfg, {m.key: fraud_profile(m)})) as r:
        sock = cfg.server.socket
        assert sock is not None
        send_unix(sock, LINE + b"\n" + LINE + b"\n")
        r.settle(2)
        # what stop() does before draining: the queue closes and the worker ends once empty
        r.sidecar.queue.close()
        worker = r.sidecar.worker
        assert worker is not None
        worker.join(20)
        assert not worker.is_alive()
        # three lines, the last one ended by the clean close instead of a newline
        send_unix(sock, LINE + b"\n" + LINE + b"\n" + LINE)
        _wait_for_received(r, "unix", 5)
        assert _counts(r) == {"received_unix": 5.0, "received_tcp": 0.0, "received_http": 0.0,
                              "rejected_queue_full": 3.0, "predictions": 2.0}
        # a POST is refused whole with Retry-After; the client keeps the body: no count
        req = urllib.request.Request(r.http + "/v1/events", data=LINE + b"\n", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        exc = refused.value
        status, retry, body = exc.code, exc.headers.get("Retry-After"), json.loads(exc.read())
        assert (status, retry) == (503, "1") and "queue full" in body["error"]
        assert _counts(r) == {"received_unix": 5.0, "received_tcp": 0.0, "received_http": 0.0,
                              "rejected_queue_full": 3.0, "predictions": 2.0}


def _connect(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(path))
    return s


def _wait(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not done():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


def test_every_refused_connection_is_counted(tmp_path: Path) -> None:
    m = fraud_model()
    cfg = config(m, tmp=tmp_path, decode_processes=0, max_connections=1)
    with running(Sidecar(cfg, {m.key: fraud_profile(m)})) as r:
        sock = cfg.server.socket
        assert sock is not None
        kept = _connect(sock)
        try:
            _wait("one open connection", lambda: r.sidecar.intake.open["unix"] == 1)
            for n in (1, 2, 3):
                with _connect(sock) as extra:
                    assert extra.recv(1) == b""  # closed by the sidecar at once
                _wait(f"{n} refused", lambda n=n: r.sidecar.intake.refused["unix"] == n)
            with urllib.request.urlopen(r.http + "/metrics", timeout=10) as resp:
                text = resp.read().decode()
        finally:
            kept.close()
    refused = [s.value for fam in parse_text(text) for s in fam.samples
               if s.name == "mlmon_connections_refused_total" and s.labels["transport"] == "unix"]
    assert refused == [3.0]


def test_an_over_long_line_is_counted_while_its_connection_stays_open(tmp_path: Path) -> None:
    m = fraud_model()
    cfg = config(m, tmp=tmp_path, decode_processes=0, max_line_bytes=len(LINE) + 10)
    with running(Sidecar(cfg, {m.key: fraud_profile(m)})) as r:
        sock = cfg.server.socket
        assert sock is not None
        with _connect(sock) as conn:
            conn.sendall(b"x" * (len(LINE) + 11) + b"\n" + LINE + b"\n")
            # received counts the over-long line as it is read, not when the peer leaves
            _wait("both lines received", lambda: _counts(r)["received_unix"] == 2.0)
            r.settle(1)
            assert _counts(r) == {"received_unix": 2.0, "received_tcp": 0.0,
                                  "received_http": 0.0, "rejected_line_too_long": 1.0,
                                  "predictions": 1.0}


async def _fill_and_watch(path: Path, queue_size: int
                          ) -> tuple[int, bool, list[bool], int, list[float]]:
    """A real intake serving a Unix socket with no worker draining its queue: a client sends
    far more lines than the queue holds; once the queue is full, what the intake did (and
    how far ahead each connection's idle check is due)."""
    store = SidecarState(config(fraud_model(), queue_size=queue_size), {})
    queue = IngestQueue(queue_size)
    intake = Intake(store, queue)
    server = await asyncio.start_unix_server(
        lambda reader, writer: intake.serve_stream(reader, writer, "unix"), str(path))
    try:
        _, writer = await asyncio.open_unix_connection(str(path))
        writer.write(LINE + b"\n")  # the first read: one line, below the bound
        await writer.drain()
        while queue.size < 1:
            await asyncio.sleep(0.01)
        writer.write((LINE + b"\n") * (4 * queue_size))  # fills the queue in one read or more
        await writer.drain()
        while not queue.full:
            await asyncio.sleep(0.01)
        reading = [c.transport.is_reading() for c in intake.connections
                   if isinstance(c.transport, asyncio.ReadTransport)]
        now = asyncio.get_running_loop().time()
        due = [c.timer.when() - now for c in intake.connections if c.timer is not None]
        size, paused = queue.size, intake.paused
        writer.close()
        return size, paused, reading, store.rejected["queue_full"], due
    finally:
        server.close()
        for conn in list(intake.connections):
            if conn.transport is not None:
                conn.transport.close()
        await server.wait_closed()


def test_a_full_queue_pauses_the_stream_readers(tmp_path: Path) -> None:
    size, paused, reading, dropped, due = asyncio.run(_fill_and_watch(tmp_path / "s.sock", 8))
    # the read that filled it went in whole (nothing dropped), then reading stopped
    assert size >= 8 and dropped == 0
    assert paused and reading == [False]
    # one idle check per connection, due server.idle_timeout (300 s) after its last read
    # (one due in the past would run again at once, spinning the event loop)
    assert len(due) == 1 and 0.0 < due[0] <= 300.0
