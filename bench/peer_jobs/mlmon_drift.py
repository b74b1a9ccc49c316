"""mlmon in-process: one drift computation for the 25 features, timed.

Runs in .venv: ``python bench/peer_jobs/mlmon_drift.py WORKDIR/workload.json [N]``.
The profile is loaded and the current file read into reader chunks before timing. Timed,
median of N (default 20) with ``time.perf_counter`` (wall) and ``time.process_time``
(CPU):

- ``analyze``: ``exporter.batch.analyze.analyze`` on the collected values, what
  ``mlmon batch`` runs after reading (every statistic, severity, Holm verdict);
- ``collect_analyze``: the same from the chunks in memory (``exporter.batch.collect``
  first: numeric columns joined, categories counted over the profile's buckets).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from common import done, spec

from exporter.batch.analyze import analyze
from exporter.batch.collect import Collector, collect
from exporter.profile.files import load_profile
from exporter.readers.chunks import read_chunks
from exporter.stats.thresholds import Thresholds


def main() -> int:
    s = spec_and_runs()
    runs = s["runs"]
    profile = load_profile(Path(s["reference"]).with_name("profile.json"))
    thresholds = Thresholds()

    def collector() -> Collector:
        return Collector(profile, s["current"], None, None)

    chunks = list(read_chunks(s["current"], collector().columns()))
    collected = collect(chunks, collector())
    report = analyze(profile, collected, thresholds, None)  # warm
    timings: dict[str, list[float]] = {k: [] for k in (
        "analyze", "collect_analyze", "analyze_cpu", "collect_analyze_cpu")}
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        analyze(profile, collected, thresholds, None)
        c1, t1 = time.process_time(), time.perf_counter()
        analyze(profile, collect(chunks, collector()), thresholds, None)
        c2, t2 = time.process_time(), time.perf_counter()
        timings["analyze"].append(t1 - t0)
        timings["collect_analyze"].append(t2 - t1)
        timings["analyze_cpu"].append(c1 - c0)
        timings["collect_analyze_cpu"].append(c2 - c1)
    flagged = [f.drift.name for f in report.features
               if f.drift.severity is not None and f.drift.severity >= 1]
    done(flagged, runs=runs, **{k: statistics.median(v) for k, v in timings.items()})
    return 0


def spec_and_runs() -> dict[str, object]:
    runs = int(sys.argv.pop(2)) if len(sys.argv) > 2 else 20
    return {**spec(), "runs": runs}


if __name__ == "__main__":
    raise SystemExit(main())
