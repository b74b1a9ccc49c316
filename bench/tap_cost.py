"""Per-call cost of the tap on the caller's thread (used by bench/ingest.py).

``python bench/tap_cost.py`` starts a discarding sink in a child process and
prints the median / p90 / p99 cost of ``Tap.prediction`` with 20 numeric and 2
categorical features. ``measure_call_cost(address)`` does the measuring against any
listener, e.g. a real sidecar.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from exporter.client.tap import Tap


@dataclass(frozen=True)
class CallCost:
    calls: int
    median_ns: float
    p90_ns: float
    p99_ns: float
    sent: int
    dropped: int


def example_features(numeric: int = 20, categorical: int = 2) -> dict[str, Any]:
    """Features shaped like the ingest benchmark's events."""
    features: dict[str, Any] = {f"x{i:02d}": 100.0 + i * 1.25 for i in range(numeric)}
    for j in range(categorical):
        features[f"c{j}"] = ("DE", "FR", "US")[j % 3]
    return features


def measure_call_cost(address: str | Path, *, calls: int = 50_000, model: str = "bench",
                      features: dict[str, Any] | None = None, rate: float | None = None,
                      warmup: int = 2_000) -> CallCost:
    """Time ``calls`` individual ``Tap.prediction`` calls (optionally paced at ``rate``/s)."""
    feats = features if features is not None else example_features()
    tap = Tap(address, queue_size=max(10_000, calls))
    try:
        _wait_connected(tap)
        for i in range(warmup):
            tap.prediction(model=model, features=feats, prediction=0.5, id=f"w{i}")
        period = 0.0 if rate is None else 1.0 / rate
        clock = time.perf_counter_ns
        samples = [0] * calls
        next_at = time.perf_counter()
        for i in range(calls):
            ident = f"r{i}"
            t0 = clock()
            tap.prediction(model=model, features=feats, prediction=0.5, id=ident)
            samples[i] = clock() - t0
            if period:
                next_at += period
                while time.perf_counter() < next_at:
                    pass
        tap.close(10.0)
    finally:
        tap.close(0.1)
    samples.sort()
    stats = tap.stats()
    return CallCost(calls=calls, median_ns=float(samples[calls // 2]),
                    p90_ns=float(samples[int(calls * 0.9)]),
                    p99_ns=float(samples[int(calls * 0.99)]), sent=stats.sent,
                    dropped=stats.dropped_queue_full + stats.dropped_disconnected)


def _wait_connected(tap: Tap, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not tap.stats().connected and time.monotonic() < deadline:
        time.sleep(0.01)


def _sink(path: str) -> None:
    """Accept connections on a Unix socket and discard what arrives (a stand-in sidecar)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        with conn:
            while conn.recv(1 << 20):
                pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--address", help="measure against this listener (default: own sink)")
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=None, help="pace calls at this rate/s")
    parser.add_argument("--sink", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sink:
        _sink(args.sink)
        return 0
    if args.address:
        result = measure_call_cost(args.address, calls=args.calls, rate=args.rate)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sink.sock")
            sink = subprocess.Popen([sys.executable, __file__, "--sink", path],
                                    stdout=subprocess.PIPE)
            try:
                assert sink.stdout is not None
                sink.stdout.readline()
                result = measure_call_cost(path, calls=args.calls, rate=args.rate)
            finally:
                sink.terminate()
                sink.wait()
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
