"""Soak: millions of events at a sustained rate with a 1 s state interval; loss and memory.

    .venv/bin/python bench/soak.py [--events 5000000] [--rate 150000] [--connections 2]

Runs a real `mlmon serve` (decoder process, state file written every second) on a
temporary Unix socket. Load generators in separate processes write exactly
``--events`` events at ``--rate`` events/s in total, with fresh ids (so the label
join table fills up to its bound and every state save carries it). Afterwards it
prints what was sent against what the sidecar counted (received, accepted, rejected
by reason), the state saves (ok / error), and the sidecar's summed RSS over time:
memory is flat when the medians of the run's last quarters stay within a few MB.
Never part of the test run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from sidecar_proc import Sidecar  # bench/sidecar_proc.py, beside this script
from synthetic import make_events, write_config  # bench/synthetic.py

SLICE = 1000  # events per write


def _counted_writer(path: str, payload: bytes, rate: float, events: int, offset: int,
                    ready: Any) -> None:
    """Write exactly ``events`` events at ``rate`` events/s, ids unique across writers."""
    lines = payload.splitlines(keepends=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        ready.set()
        due = time.monotonic()
        sent = 0
        rep = offset
        while sent < events:
            tagged = b"".join(lines).replace(b'"id":"q', b'"id":"%dq' % rep)
            batch = tagged.splitlines(keepends=True)
            for i in range(0, len(batch), SLICE):
                chunk = batch[i:min(i + SLICE, i + events - sent)]
                s.sendall(b"".join(chunk))
                sent += len(chunk)
                due += len(chunk) / rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                if sent >= events:
                    break
            rep += 1_000


def _metrics(url: str) -> dict[str, float]:
    """The sidecar's own counters from /metrics (name{labels} -> value)."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--rate", type=float, default=150_000.0, help="events/s, all writers")
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="mlmon-soak-") as d:
        tmp = Path(d)
        cfg = write_config(tmp, [("bench", 20, 2)], 10_000)
        text = cfg.read_text().replace("server: {decode_processes: 1}",
                                       "server: {decode_processes: 1, state_interval: 1s}")
        cfg.write_text(text)
        payload = make_events("bench", 20, 2, 50_000)
        sc = Sidecar(tmp, cfg, "soak", "--state-file", str(tmp / "state.bin"))
        samples: list[tuple[float, float]] = []  # (seconds since start, summed RSS MB)
        stop = threading.Event()

        def sample() -> None:
            t0 = time.monotonic()
            while not stop.wait(1.0):
                samples.append((time.monotonic() - t0, sc.memory_mb()[0]))

        sampler = threading.Thread(target=sample, daemon=True)
        try:
            sampler.start()
            per = [args.events // args.connections] * args.connections
            per[0] += args.events - sum(per)
            writers = []
            for i, n in enumerate(per):
                ready = ctx.Event()
                w = ctx.Process(target=_counted_writer,
                                args=(str(sc.sock), payload, args.rate / args.connections, n,
                                      i * 100_000_000, ready))
                w.start()
                ready.wait(60)
                writers.append(w)
            t0 = time.monotonic()
            for w in writers:
                w.join()
            elapsed = time.monotonic() - t0
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                events = sc.status()["events"]
                counted = sum(events["received"].values())
                if counted >= args.events and sc.total() + sum(
                        events["rejected"].values()) >= counted:
                    break
                time.sleep(0.5)
            time.sleep(2.5)  # two more state saves under the final state
            stop.set()
            sampler.join()
            events = sc.status()["events"]
            m = _metrics(sc.url)
        finally:
            stop.set()
            sc.stop()
    received = sum(events["received"].values())
    rejected = {k: v for k, v in events["rejected"].items() if v}
    saves = {k: v for k, v in m.items() if k.startswith("mlmon_state_saves_total")}
    quarter = max(1, len(samples) // 4)
    quarters = [round(statistics.median(r for _, r in samples[i * quarter:(i + 1) * quarter]), 1)
                for i in range(4) if samples[i * quarter:(i + 1) * quarter]]
    result = {"events_sent": args.events, "offered_rate": args.rate,
              "write_seconds": round(elapsed, 1), "received": received,
              "accepted": received - sum(rejected.values()), "rejected": rejected,
              "lost": args.events - received + sum(rejected.values()), "state_saves": saves,
              "rss_quarter_medians_mb": quarters,
              "rss_max_mb": round(max((r for _, r in samples), default=float("nan")), 1)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:28} {value}")
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
