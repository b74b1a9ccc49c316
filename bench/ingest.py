"""Sidecar benchmark: ingest rate, scrape latency, compute cycle, RSS, client call cost.

    .venv/bin/python bench/ingest.py [--seconds 10] [--json]

Runs real `mlmon serve` subprocesses on a temporary Unix socket and loopback HTTP
port; the load generator is a separate process writing NDJSON at full speed.
The decode-only rate (same sidecar, state update skipped) is measured in the
same run as the reference limit, a sidecar decoding in its own process
(`server.decode_processes: 0`) as the baseline of the decoder process, and the
load generator's own rate into a byte sink shows it is not the limit. Memory
is summed over the sidecar and its decoder process. Prints a table; never
part of the test run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from tap_cost import measure_call_cost  # bench/tap_cost.py, beside this script

from exporter.config.model import (
    Config,
    FeatureConfig,
    ModelConfig,
    PredictionConfig,
    ServerConfig,
    WindowConfig,
)
from exporter.profile.files import save_profile
from exporter.profile.model import (
    SCHEMA_VERSION,
    CategoricalProfile,
    NumericProfile,
    NumericSummary,
    Profile,
)
from exporter.sidecar.state import SidecarState
from exporter.stats.binning import bin_counts, quantile_edges

CATS = ("DE", "FR", "US", "GB", "IT")


def _numeric(name: str, values: np.ndarray[Any, Any]) -> NumericProfile:
    edges = quantile_edges(values, 10)
    summary = NumericSummary(len(values), 0, float(values.mean()), float(values.std()),
                             float(values.min()), float(values.max()), ())
    return NumericProfile(name, tuple(map(float, edges)),
                          tuple(int(c) for c in bin_counts(values, edges)), summary,
                          tuple(float(v) for v in np.sort(values)))


def make_profile(name: str, numeric: int, categorical: int, n: int = 10_000,
                 seed: int = 0) -> Profile:
    rng = np.random.default_rng(seed)
    feats: list[NumericProfile | CategoricalProfile] = [
        _numeric(f"x{i:02d}", rng.normal(100 + i, 10, n)) for i in range(numeric)]
    for j in range(categorical):
        counts = rng.multinomial(n, [0.4, 0.2, 0.2, 0.1, 0.1])
        feats.append(CategoricalProfile(f"c{j}", tuple(sorted(CATS)),
                                        (*(int(c) for c in counts), 0), 0))
    return Profile(SCHEMA_VERSION, name, "1", n, tuple(feats),
                   _numeric("__prediction__", rng.beta(2, 5, n)), f"bench-{name}")


def model_config(name: str, numeric: int, categorical: int, window: int) -> ModelConfig:
    feats = tuple(FeatureConfig(f"x{i:02d}", "numeric") for i in range(numeric)) + tuple(
        FeatureConfig(f"c{j}", "categorical") for j in range(categorical))
    return ModelConfig(name, "1", PredictionConfig("classification", ("0", "1")), feats,
                       window=WindowConfig(size=window))


def write_config(tmp: Path, models: list[tuple[str, int, int]], window: int,
                 compute_interval: str = "15s", decode_processes: int = 1,
                 filename: str = "mlmon.yaml") -> Path:
    lines = [f"compute_interval: {compute_interval}",
             f"server: {{decode_processes: {decode_processes}}}", "models:"]
    for name, numeric, categorical in models:
        save_profile(make_profile(name, numeric, categorical), tmp / f"{name}.json")
        feats = ", ".join([f"x{i:02d}: numeric" for i in range(numeric)]
                          + [f"c{j}: categorical" for j in range(categorical)])
        lines += [f"  - name: {name}", '    version: "1"', f"    profile: {name}.json",
                  '    prediction: {kind: classification, classes: ["0", "1"]}',
                  f"    features: {{{feats}}}", f"    window: {{size: {window}}}",
                  "    labels: {ttl: 1h, max_pending: 100000}"]
    path = tmp / filename
    path.write_text("\n".join(lines) + "\n")
    return path


def make_events(model: str, numeric: int, categorical: int, n: int, seed: int = 1,
                shift: float = 0.0) -> bytes:
    rng = np.random.default_rng(seed)
    # feature j follows its reference N(100 + j, 10) unless shifted
    values = (rng.normal(100 + shift, 10, (n, numeric)) + np.arange(numeric)).round(3)
    cats = rng.choice(CATS, (n, categorical))
    scores = rng.beta(2, 5, n).round(4)
    out = []
    for i in range(n):
        feats: dict[str, Any] = {f"x{j:02d}": float(values[i, j]) for j in range(numeric)}
        feats.update({f"c{j}": str(cats[i, j]) for j in range(categorical)})
        out.append(json.dumps({"v": 1, "model": model, "version": "1", "id": f"q{i}",
                               "features": feats, "prediction": float(scores[i])},
                              separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


def _writer(path: str, payload: bytes, stop_at: float) -> None:
    """Load generator (separate process): write the payload over and over until stop_at."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        rep = 0
        while time.time() < stop_at:
            # fresh ids on every pass, as a real stream has (bytes.replace runs in C)
            s.sendall(payload.replace(b'"id":"q', b'"id":"%dq' % rep))
            rep += 1


def _paced_writer(path: str, payload: bytes, rate: float, seconds: float, ready: Any) -> None:
    """Load generator writing ``rate`` events/s in slices of 1000 events, prepared in
    advance (four passes over the payload with distinct ids) so writing is all it does."""
    step = 1000
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


def sustained_rate(sc: Sidecar, payload: bytes, rates: list[float],
                   seconds: float = 5.0) -> float:
    """Highest offered rate the sidecar keeps up with: at least 99 % of it processed and
    under 0.1 % dropped over ``seconds`` (a ladder, stopping at the first failure)."""
    ctx = mp.get_context("spawn")
    best = 0.0
    for rate in rates:
        dropped0 = sc.status()["events"]["rejected"]["queue_full"]
        ready = ctx.Event()
        writer = ctx.Process(target=_paced_writer,
                             args=(str(sc.sock), payload, rate, 1.0 + seconds + 0.3, ready))
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


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sidecar:
    def __init__(self, tmp: Path, cfg: Path, tag: str, *extra: str) -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.sock = tmp / f"{tag}.sock"
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (tmp / f"{tag}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exporter", "serve", "--config", str(cfg), "--socket",
             str(self.sock), "--http", f"127.0.0.1:{self.port}", "--log-level", "ERROR",
             *extra], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"sidecar {tag} did not start") from None
                time.sleep(0.1)

    def status(self) -> Any:
        with urllib.request.urlopen(self.url + "/v1/status", timeout=10) as r:
            return json.loads(r.read())

    def total(self) -> int:
        return sum(m["predictions_total"] for m in self.status()["models"])

    def pids(self) -> list[int]:
        """The sidecar and its decoder processes."""
        pid = self.proc.pid
        return [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]

    def peak_rss_mb(self) -> float:
        """Sum over the sidecar's processes of each one's peak RSS (shared pages counted
        in every process, so an upper bound)."""
        return sum(_peak_rss_mb(p) for p in self.pids())

    def memory_mb(self) -> tuple[float, float]:
        """Current (RSS, PSS) summed over the sidecar's processes; PSS counts pages
        shared between them (libraries) once."""
        rss = pss = 0
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        return rss / 1024, pss / 1024

    def watch_memory(self) -> MemoryWatch:
        return MemoryWatch(self)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


class MemoryWatch:
    """Samples the sidecar's summed RSS and PSS every 0.2 s while in a ``with`` block.

    The first sample's RSS is the sum of each process's peak so far, which covers
    start-up (profile loading, before the decoder exists) from above.
    """

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar
        self.samples = [(sidecar.peak_rss_mb(), sidecar.memory_mb()[1])]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.samples.append(self.sidecar.memory_mb())

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.sidecar.memory_mb())

    def result(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}rss_sum_peak_mb": max(r for r, _ in self.samples),
                f"{prefix}pss_peak_mb": max(p for _, p in self.samples),
                f"{prefix}rss_mb": self.sidecar.peak_rss_mb()}



def ingest_rate(sc: Sidecar, payload: bytes, seconds: float, warmup: float = 2.0) -> dict[
        str, float]:
    ctx = mp.get_context("spawn")
    stop_at = time.time() + warmup + seconds + 0.5
    writer = ctx.Process(target=_writer, args=(str(sc.sock), payload, stop_at))
    with sc.watch_memory() as memory:
        writer.start()
        time.sleep(warmup)
        t0, n0 = time.perf_counter(), sc.total()
        time.sleep(seconds)
        t1, n1 = time.perf_counter(), sc.total()
        writer.join()
    rejected = sc.status()["events"]["rejected"]
    return {"rate": (n1 - n0) / (t1 - t0), "queue_full": rejected["queue_full"],
            **memory.result()}


def _fill_windows(sc: Sidecar, models: tuple[str, ...], n: int = 10_000,
                  step: int = 2_000) -> None:
    """Send each model n events in steps the sidecar takes in whole (a preload, not a
    load test: nothing may be dropped)."""
    done = sc.total()
    for name in models:
        lines = make_events(name, 45, 5, n, shift=1.0).splitlines(keepends=True)
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


def scrape_latency(tmp: Path, repeats: int = 50) -> dict[str, float]:
    cfg = write_config(tmp, [("alpha", 45, 5), ("beta", 45, 5)], 10_000, "1s")
    sc = Sidecar(tmp, cfg, "scrape")
    try:
        with sc.watch_memory() as memory:
            _fill_windows(sc, ("alpha", "beta"))
            time.sleep(2.5)  # at least one compute over the full windows
        out: dict[str, float] = memory.result("scrape_")
        for label, accept in (("text", "text/plain"),
                              ("openmetrics", "application/openmetrics-text; version=1.0.0")):
            times = []
            size = 0
            for _ in range(repeats):
                req = urllib.request.Request(sc.url + "/metrics", headers={"Accept": accept})
                t = time.perf_counter()
                with urllib.request.urlopen(req, timeout=10) as r:
                    size = len(r.read())
                times.append(time.perf_counter() - t)
            out[f"scrape_{label}_ms"] = statistics.median(times) * 1000
            out[f"scrape_{label}_p99_ms"] = sorted(times)[int(0.99 * (len(times) - 1))] * 1000
            out[f"scrape_{label}_bytes"] = size
        return out
    finally:
        sc.stop()


def compute_cycle(repeats: int = 7) -> dict[str, float]:
    """One model, 50 features, a full 10k window against 10k reference samples (in-process)."""
    from collections import Counter

    from exporter.sidecar.compute import compute
    from exporter.sidecar.ingest.decode import BatchDecoder

    out: dict[str, float] = {}
    for label, shift in (("undrifted", 0.0), ("drifted", 1.0)):
        m = model_config("gamma", 45, 5, 10_000)
        cfg = Config(Path("bench.yaml"), (m,), server=ServerConfig(socket=None))
        store = SidecarState(cfg, {m.key: make_profile("gamma", 45, 5)})
        lines = make_events("gamma", 45, 5, 10_000, seed=3, shift=shift).splitlines()
        decoder = BatchDecoder(cfg)
        for i in range(0, len(lines), 4096):
            batch = decoder.decode(lines[i:i + 4096])
            rejected: Counter[str] = Counter()
            for key, b in batch.models.items():
                store.models[key].update(b, time.time(), rejected)
        times = [compute(store).duration for _ in range(repeats)]
        out[f"compute_{label}_ms"] = statistics.median(times) * 1000
    return out


def client_cost(sc: Sidecar) -> dict[str, float]:
    cost = measure_call_cost(sc.sock, calls=50_000, model="bench")
    return {"client_median_us": cost.median_ns / 1000, "client_p99_us": cost.p99_ns / 1000}


LADDER = [float(r) for r in range(150_000, 400_001, 25_000)]  # offered events/s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="ingest measuring time")
    parser.add_argument("--json", action="store_true", help="print the raw numbers as JSON")
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="mlmon-bench-") as d:
        tmp = Path(d)
        cfg = write_config(tmp, [("bench", 20, 2)], 10_000)
        inline = write_config(tmp, [("bench", 20, 2)], 10_000, decode_processes=0,
                              filename="inline.yaml")
        payload = make_events("bench", 20, 2, 50_000)
        results["client_rate"] = client_rate(tmp, payload)
        runs = (("decode", cfg, ("--decode-only",)), ("full", cfg, ()), ("inline", inline, ()))
        for mode, path, extra in runs:
            sc = Sidecar(tmp, path, mode, *extra)
            try:
                r = ingest_rate(sc, payload, args.seconds)
                results[f"{mode}_rate"] = r["rate"]
                results[f"{mode}_queue_full"] = r["queue_full"]
                for key in ("rss_mb", "rss_sum_peak_mb", "pss_peak_mb"):
                    results[f"{mode}_{key}"] = r[key]
                if mode == "full":
                    results.update(client_cost(sc))
                if mode != "decode":
                    results[f"{mode}_sustained_rate"] = sustained_rate(sc, payload, LADDER)
            finally:
                sc.stop()
        results.update(scrape_latency(tmp))
        results.update(compute_cycle())
    if args.json:
        print(json.dumps(results, indent=2))
    print_table(results)
    return 0


def print_table(r: dict[str, float]) -> None:
    ratio = r["full_rate"] / r["decode_rate"] if r.get("decode_rate") else float("nan")
    rows = [
        ("ingest, full state update (20 num + 2 cat), writer at full speed",
         f"{r['full_rate']:,.0f} ev/s",
         ">= 250,000 ev/s", r["full_rate"] >= 250_000),
        ("ingest sustained: highest paced rate kept up with (>= 99 %, < 0.1 % dropped)",
         f"{r['full_sustained_rate']:,.0f} ev/s", ">= 250,000 ev/s",
         r["full_sustained_rate"] >= 250_000),
        ("  same, decoding in the sidecar process (decode_processes: 0)",
         f"{r['inline_sustained_rate']:,.0f} ev/s", "-", None),
        ("ingest, decode only (same run, reference)", f"{r['decode_rate']:,.0f} ev/s", "-",
         None),
        ("ingest, full, decoding in the sidecar process (decode_processes: 0)",
         f"{r['inline_rate']:,.0f} ev/s", "-", None),
        ("load generator alone, into a byte sink (its own limit)",
         f"{r['client_rate']:,.0f} ev/s", "> ingest", r["client_rate"] > r["decode_rate"]),
        ("full / decode-only", f"{ratio:.0%}", ">= 60%", ratio >= 0.6),
        ("/metrics scrape, 2 models x 50 features (text)",
         f"{r['scrape_text_ms']:.1f} ms (p99 {r['scrape_text_p99_ms']:.1f})", "<= 10 ms",
         r["scrape_text_ms"] <= 10),
        ("/metrics scrape (OpenMetrics)", f"{r['scrape_openmetrics_ms']:.1f} ms", "<= 10 ms",
         r["scrape_openmetrics_ms"] <= 10),
        ("compute cycle, 50 features, 10k window vs 10k ref (no drift)",
         f"{r['compute_undrifted_ms']:.0f} ms", "<= 100 ms", r["compute_undrifted_ms"] <= 100),
        ("compute cycle, same, every feature drifted",
         f"{r['compute_drifted_ms']:.0f} ms", "<= 100 ms", r["compute_drifted_ms"] <= 100),
        ("sidecar memory, ingest run: peak of summed RSS (sidecar + decoder, sampled)",
         f"{r['full_rss_sum_peak_mb']:.0f} MB", "<= 200 MB", r["full_rss_sum_peak_mb"] <= 200),
        ("  same, sum of each process's own peak RSS (upper bound)",
         f"{r['full_rss_mb']:.0f} MB", "<= 200 MB", r["full_rss_mb"] <= 200),
        ("  same, peak of summed PSS (shared library pages once)",
         f"{r['full_pss_peak_mb']:.0f} MB", "-", None),
        ("  same, decoding in the sidecar process: peak RSS",
         f"{r['inline_rss_mb']:.0f} MB", "-", None),
        ("sidecar memory, 2 x 50 features, 10k windows: peak of summed RSS",
         f"{r['scrape_rss_sum_peak_mb']:.0f} MB", "<= 200 MB",
         r["scrape_rss_sum_peak_mb"] <= 200),
        ("  same, sum of each process's own peak RSS (upper bound)",
         f"{r['scrape_rss_mb']:.0f} MB", "<= 200 MB", r["scrape_rss_mb"] <= 200),
    ]
    if "client_median_us" in r:
        rows.append(("client Tap.prediction on caller's thread (median)",
                     f"{r['client_median_us']:.2f} us (p99 {r['client_p99_us']:.1f})",
                     "<= 5 us", r["client_median_us"] <= 5))
    width = max(len(x[0]) for x in rows)
    print(f"{'measure':<{width}}  {'measured':>24}  {'target':>15}  ok")
    for name, value, target, ok in rows:
        mark = "" if ok is None else ("yes" if ok else "NO")
        print(f"{name:<{width}}  {value:>24}  {target:>15}  {mark}")
    print(f"(queue_full drops during the run: decode-only {r['decode_queue_full']:.0f}, "
          f"full {r['full_queue_full']:.0f}, in-process {r['inline_queue_full']:.0f}; "
          f"the load generator writes faster than any sidecar reads; cpus: {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    raise SystemExit(main())
