"""Load generators for the sidecar benchmarks, each meant to run in its own process.

``_writer`` writes at full speed, ``_paced_writer`` at a fixed rate from slices prepared
in advance; ``sustained_rate`` runs a ladder of paced rates against a sidecar,
``client_rate`` measures the generator alone into a byte sink, ``preload`` feeds a
sidecar a fixed number of events without dropping any.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing as mp
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from sidecar_proc import Sidecar  # bench/sidecar_proc.py, beside this script
from synthetic import make_events  # bench/synthetic.py

from exporter.client.tap import Tap


def _pin(cpus: set[int] | None) -> None:
    """Run this process on ``cpus`` only (None: leave the affinity as it is)."""
    if cpus:
        os.sched_setaffinity(0, cpus)


def _writer(path: str, payload: bytes, stop_at: float, cpus: set[int] | None = None) -> None:
    """Load generator (separate process): write the payload over and over until stop_at."""
    _pin(cpus)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        rep = 0
        while time.time() < stop_at:
            # fresh ids on every pass, as a real stream has (bytes.replace runs in C)
            s.sendall(payload.replace(b'"id":"q', b'"id":"%dq' % rep))
            rep += 1


def _paced_writer(path: str, payload: bytes, rate: float, seconds: float, ready: Any,
                  cpus: set[int] | None = None) -> None:
    """Load generator writing ``rate`` events/s in slices of up to 1000 events (one slice
    per 10 ms below 100k events/s), prepared in advance (four passes over the payload with
    distinct ids) so writing is all it does."""
    _pin(cpus)
    step = max(1, min(1000, round(rate / 100)))
    slices = []
    for rep in range(4):
        lines = payload.replace(b'"id":"q', b'"id":"%dq' % rep).splitlines(keepends=True)
        slices += [b"".join(lines[i:i + step]) for i in range(0, len(lines), step)]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        ready.set()
        stop_at = time.time() + seconds
        due = time.monotonic()
        for chunk in itertools.cycle(slices):
            s.sendall(chunk)
            due += step / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if time.time() >= stop_at:
                return


def sustained_rate(sc: Sidecar, payload: bytes, rates: list[float], seconds: float = 5.0,
                   cpus: set[int] | None = None) -> float:
    """Highest offered rate the sidecar keeps up with: at least 99 % of it processed and
    under 0.1 % dropped over ``seconds`` (a ladder, stopping at the first failure); the
    load generator runs on ``cpus`` when given."""
    ctx = mp.get_context("spawn")
    best = 0.0
    for rate in rates:
        dropped0 = sc.status()["events"]["rejected"]["queue_full"]
        ready = ctx.Event()
        writer = ctx.Process(target=_paced_writer,
                             args=(str(sc.sock), payload, rate, 1.0 + seconds + 0.3, ready, cpus))
        writer.start()
        ready.wait(60)
        time.sleep(1.0)  # warm-up
        t0, n0 = time.perf_counter(), sc.total()
        time.sleep(seconds)
        t1, n1 = time.perf_counter(), sc.total()
        writer.join()
        time.sleep(0.5)
        dropped = sc.status()["events"]["rejected"]["queue_full"] - dropped0
        taken = (n1 - n0) / (t1 - t0)
        print(f"  offered {rate:,.0f} ev/s: processed {taken:,.0f} ev/s, dropped {dropped}",
              file=sys.stderr)
        if dropped > 0.001 * rate * seconds or taken < 0.99 * rate:
            break
        best = rate
    return best


def _sink(path: str, ready: Any, result: Any) -> None:
    """Discard everything one connection sends (recv_into one buffer): the client's own limit."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.bind(path)
        srv.listen()
        ready.put(True)
        conn, _ = srv.accept()
        buf = bytearray(1 << 20)
        total = 0
        with conn:
            while n := conn.recv_into(buf):
                total += n
        result.put(total)


def client_rate(tmp: Path, payload: bytes, seconds: float = 3.0) -> float:
    """Events/s the load generator writes when nothing but a byte sink reads them."""
    ctx = mp.get_context("spawn")
    ready, result = ctx.Queue(), ctx.Queue()
    path = str(tmp / "sink.sock")
    sink = ctx.Process(target=_sink, args=(path, ready, result))
    sink.start()
    ready.get(timeout=30)
    t0 = time.time()
    _writer(path, payload, t0 + seconds)
    elapsed = time.time() - t0
    total: int = result.get(timeout=30)
    sink.join()
    return total / (len(payload) / payload.count(b"\n")) / elapsed




def preload(sc: Sidecar, model: str, numeric: int, categorical: int, n: int,
            step: int = 2_000, shift: float = 0.0, seed: int = 1) -> None:
    """Send ``model`` n events in steps the sidecar takes in whole, waiting for each (a
    preload, not a load test: nothing may be dropped)."""
    done = sc.total()
    lines = make_events(model, numeric, categorical, n, seed=seed,
                        shift=shift).splitlines(keepends=True)
    for i in range(0, n, step):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(sc.sock))
            s.sendall(b"".join(lines[i:i + step]))
        done += len(lines[i:i + step])
        deadline = time.monotonic() + 60
        while sc.total() < done:
            if time.monotonic() > deadline:
                raise RuntimeError(f"preload stalled at {sc.total()} of {done} events")
            time.sleep(0.05)


def tap_client(path: str, model: str, numeric: int, categorical: int, rate: float,
               seconds: float, ready: Any, result: Any, cpus: set[int] | None = None) -> None:
    """A model server's tap (``exporter.client.Tap``) making ``rate`` calls per second, one
    per prediction, for ``seconds``; puts (calls, sent, dropped) on ``result``."""
    _pin(cpus)
    lines = make_events(model, numeric, categorical, 5_000, seed=11).splitlines()
    events = [json.loads(line) for line in lines]
    tap = Tap(path, queue_size=100_000)
    deadline = time.monotonic() + 5
    while not tap.stats().connected and time.monotonic() < deadline:
        time.sleep(0.01)
    ready.set()
    calls = 0
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        for _ in range(int(elapsed * rate) - calls):
            e = events[calls % len(events)]
            tap.prediction(model=model, features=e["features"], prediction=e["prediction"],
                           id=f"t{calls}")
            calls += 1
        time.sleep(0.001)
    tap.close(10.0)
    stats = tap.stats()
    result.put((calls, stats.sent, stats.dropped_queue_full + stats.dropped_disconnected))
