"""The sidecar on one CPU: sustained ingest rate, and CPU cost per 1,000 events/s.

    .venv/bin/python bench/one_cpu.py [--load-seconds 30] [--step-seconds 8] [--json]

The k8s manifest gives the sidecar a limit of 1 CPU. Here a real `mlmon serve` (25
features: 20 numeric + 5 categorical, profile built by `mlmon profile build` from 100k
rows, 10k window, default compute and state intervals, a state file, one decoder
process) runs under `taskset -c 0`: the decoder child inherits the affinity, which is
checked in /proc/PID/status (Cpus_allowed_list) of both. The load generators run on
CPU 1, this script's own process too.

- CPU cost: with no events, then with a model server's tap (`exporter.client.Tap`, one
  call per prediction, paced) at 1,000 and 10,000 events/s, the CPU time of the sidecar
  and its decoder (utime + stime in /proc/PID/stat of both) over ``--load-seconds``
  gives millicores = CPU seconds / wall seconds x 1000; per 1,000 events/s it is the
  increase over idle divided by the rate in thousands.
- Capacity: a writer at full speed for ``--step-seconds``; events processed per CPU-second
  of the sidecar and its decoder, which is the rate one dedicated CPU sustains and,
  unlike a rate, hardly depends on what else the machine is running.
- Sustained rate: the paced ladder of bench/ingest.py (highest offered rate with >= 99 %
  processed and < 0.1 % dropped over ``--step-seconds``), in 25k steps and then 5k
  steps above the last rate kept up with; the baseline is the same ladder against the
  same sidecar without the affinity (both CPUs), in the same run.

CPU time and millicores are far less sensitive to other load on the machine than wall
time; the rates are not.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from loadgen import _writer, sustained_rate, tap_client  # bench/loadgen.py, beside this
from procfs import cpus_allowed, millicores
from sidecar_proc import Sidecar
from synthetic import make_events, write_config

MODEL = ("m25", 20, 5)
SIDECAR_CPU, LOAD_CPUS = 0, {1}
TYPICAL_RATES = (1_000.0, 10_000.0)


def cpu_cost(sc: Sidecar, rate: float, seconds: float, warmup: float = 3.0) -> dict[str, float]:
    """Millicores of the sidecar + decoder while a tap sends ``rate`` events/s (0: idle)."""
    ctx = mp.get_context("spawn")
    writer = None
    dropped0 = sc.status()["events"]["rejected"]["queue_full"]
    if rate:
        ready, result = ctx.Event(), ctx.Queue()
        writer = ctx.Process(target=tap_client, args=(
            str(sc.sock), MODEL[0], MODEL[1], MODEL[2], rate, warmup + seconds + 1.0, ready,
            result, LOAD_CPUS))
        writer.start()
        ready.wait(60)
    time.sleep(warmup)
    n0, c0, t0 = sc.total(), sc.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    c1, t1 = sc.cpu_seconds(), time.monotonic()
    n1 = sc.total()
    out = {"offered": rate, "processed": (n1 - n0) / (t1 - t0), "cpu_s": c1 - c0,
           "wall_s": t1 - t0, "millicores": millicores(c1 - c0, t1 - t0)}
    if writer is not None:
        calls, sent, lost = result.get(timeout=120)
        writer.join()
        out.update(calls=calls, sent=sent, client_dropped=lost)
    out["queue_full"] = sc.status()["events"]["rejected"]["queue_full"] - dropped0
    return out


def capacity(sc: Sidecar, payload: bytes, seconds: float, warmup: float = 2.0,
             ) -> dict[str, float]:
    """A writer at full speed (on LOAD_CPUS): events processed per CPU-second of the sidecar
    and its decoder. On a dedicated CPU that is the sustained rate; unlike a rate, it
    hardly changes when other work on the machine takes part of that CPU."""
    ctx = mp.get_context("spawn")
    writer = ctx.Process(target=_writer, args=(str(sc.sock), payload,
                                               time.time() + warmup + seconds + 0.5, LOAD_CPUS))
    writer.start()
    time.sleep(warmup)
    n0, c0, t0 = sc.total(), sc.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    n1, c1, t1 = sc.total(), sc.cpu_seconds(), time.monotonic()
    writer.join()
    return {"rate": (n1 - n0) / (t1 - t0), "cpu_s": c1 - c0, "wall_s": t1 - t0,
            "per_cpu_second": (n1 - n0) / max(c1 - c0, 1e-9)}


def ladder(sc: Sidecar, payload: bytes, seconds: float, cpus: set[int] | None,
           start: float) -> float:
    """Coarse 25k steps from ``start`` (halved, at most three times, while even that is not
    kept up with), then 5k steps above the best coarse rate."""
    best = 0.0
    for _ in range(4):
        coarse = [start, *(float(r) for r in range(25_000, 500_001, 25_000) if r > start)]
        best = sustained_rate(sc, payload, coarse, seconds, cpus)
        if best:
            break
        start /= 2
    fine = [best + d for d in (5_000.0, 10_000.0, 15_000.0, 20_000.0)]
    return sustained_rate(sc, payload, fine, seconds, cpus) or best


def run(load_seconds: float = 30.0, step_seconds: float = 8.0,
        ladders: bool = True) -> dict[str, Any]:
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("one_cpu.py needs 2 CPUs: one for the sidecar, one for the load")
    mine = os.sched_getaffinity(0)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mlmon-one-cpu-") as d:
        tmp = Path(d)
        cfg = write_config(tmp, [MODEL], 10_000, built=True, filename="one.yaml")
        payload = make_events(*MODEL, 50_000)
        os.sched_setaffinity(0, LOAD_CPUS)
        try:
            sc = Sidecar(tmp, cfg, "one", "--state-file", str(tmp / "one.state"),
                         prefix=("taskset", "-c", str(SIDECAR_CPU)))
            try:
                time.sleep(1.0)
                out["affinity"] = {str(p): cpus_allowed(p) for p in sc.pids()}
                out["idle"] = cpu_cost(sc, 0.0, load_seconds)
                for rate in TYPICAL_RATES:
                    out[f"at_{rate:.0f}"] = cpu_cost(sc, rate, load_seconds)
                out["capacity"] = capacity(sc, payload, step_seconds)
                if ladders:
                    print("one CPU ladder:", file=sys.stderr)
                    out["sustained_one_cpu"] = ladder(sc, payload, step_seconds, LOAD_CPUS,
                                                      10_000)
            finally:
                sc.stop()
        finally:
            os.sched_setaffinity(0, mine)
        if not ladders:
            return out
        sc = Sidecar(tmp, cfg, "two", "--state-file", str(tmp / "two.state"))
        try:
            out["affinity_baseline"] = {str(p): cpus_allowed(p) for p in sc.pids()}
            print("both CPUs ladder (baseline):", file=sys.stderr)
            start = max(10_000.0, out["sustained_one_cpu"] // 25_000 * 25_000)
            out["sustained_two_cpus"] = ladder(sc, payload, step_seconds, None, start)
        finally:
            sc.stop()
    return out


def per_thousand(r: dict[str, Any], rate: float) -> float:
    """Millicores per 1,000 events/s above idle at ``rate``."""
    at: dict[str, float] = r[f"at_{rate:.0f}"]
    return (at["millicores"] - r["idle"]["millicores"]) / (rate / 1000)


def print_table(r: dict[str, Any]) -> None:
    idle = r["idle"]
    rows = [("sidecar + decoder pinned to CPU 0 (Cpus_allowed_list of each)",
             ", ".join(f"{p}: {c}" for p, c in r["affinity"].items()), "-"),
            ("idle (no events; compute every 15 s): CPU", f"{idle['millicores']:.1f} mcores",
             "-")]
    for rate in TYPICAL_RATES:
        at = r[f"at_{rate:.0f}"]
        rows.append((f"tap at {rate:,.0f} ev/s (processed {at['processed']:,.0f}/s, dropped "
                     f"{at['queue_full'] + at.get('client_dropped', 0)}): CPU",
                     f"{at['millicores']:.0f} mcores",
                     f"idle + {at['millicores'] - idle['millicores']:.0f}"))
        rows.append(("  per 1,000 ev/s above idle", f"{per_thousand(r, rate):.1f} mcores", "-"))
    low, high = (r[f"at_{rate:.0f}"]["millicores"] for rate in TYPICAL_RATES)
    rows.append((f"  marginal, from {TYPICAL_RATES[0]:,.0f} to {TYPICAL_RATES[1]:,.0f} ev/s",
                 f"{(high - low) / ((TYPICAL_RATES[1] - TYPICAL_RATES[0]) / 1000):.1f} mcores",
                 "per 1,000 ev/s"))
    cap = r["capacity"]
    rows.append(("ingest capacity: events per CPU-second of sidecar + decoder (writer at full "
                 "speed)", f"{cap['per_cpu_second']:,.0f} ev/s",
                 f"got {cap['cpu_s'] / cap['wall_s']:.2f} CPU, {cap['rate']:,.0f} ev/s"))
    if "sustained_two_cpus" in r:
        rows += [("sustained ingest, one CPU (paced ladder, >= 99 % processed, < 0.1 % "
                  "dropped)", f"{r['sustained_one_cpu']:,.0f} ev/s", "-"),
                 ("  baseline: same sidecar on both CPUs, same run",
                  f"{r['sustained_two_cpus']:,.0f} ev/s",
                  f"{r['sustained_one_cpu'] / max(r['sustained_two_cpus'], 1):.0%} of it")]
    width = max(len(x[0]) for x in rows)
    print(f"{'one CPU (taskset)':<{width}}  {'measured':>24}  reference")
    for name, value, ref in rows:
        print(f"{name:<{width}}  {value:>24}  {ref}")
    print(f"(wall {r['idle']['wall_s']:.0f} s per CPU figure; cpus: {os.cpu_count()}, load "
          f"average {os.getloadavg()[0]:.1f}: the rates are sensitive to other load, CPU "
          "seconds much less)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load-seconds", type=float, default=30.0,
                        help="measuring time of each CPU figure")
    parser.add_argument("--step-seconds", type=float, default=8.0,
                        help="measuring time of each ladder step")
    parser.add_argument("--no-ladder", action="store_true",
                        help="CPU cost only, no sustained-rate ladders")
    parser.add_argument("--json", action="store_true", help="print the raw numbers as JSON")
    args = parser.parse_args()
    result = run(args.load_seconds, args.step_seconds, not args.no_ladder)
    if args.json:
        print(json.dumps(result, indent=2))
    print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
