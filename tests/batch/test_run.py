"""The whole-file analysis keeps no per-row data: its memory does not grow with the rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.procs import peak_rss_kib

# The whole-file part of ``run_batch`` (collector, performance, analysis) fed generated
# reader chunks: 4 numeric features, a score prediction and 0/1 labels, with a sample cap
# of 5,000 so that both sizes below are far beyond it.
_MEMORY_CHILD = """
import sys
import numpy as np
from exporter.batch import column
column.SAMPLE_CAP = 5_000
from exporter.batch.analyze import analyze
from exporter.batch.collect import Collector
from exporter.batch.perf import PerfCollector
from exporter.profile.model import SCHEMA_VERSION, Profile
from exporter.readers.chunks import Chunk, Predictions
from exporter.stats.thresholds import Thresholds
from tests.factories import numeric_profile

rows, size = int(sys.argv[1]), 16_384
rng = np.random.default_rng(1)
names = ("a", "b", "c", "d")
profile = Profile(SCHEMA_VERSION, "m", "1", 5000,
                  tuple(numeric_profile(n, rng.normal(0, 1, 5000)) for n in names),
                  numeric_profile("__prediction__", rng.random(5000)), "")
collector = Collector(profile, "generated", "prediction", "label")
perf = PerfCollector(profile, None, "prediction", "label")
none = np.full(size, None, dtype=object)
for start in range(0, rows, size):
    n = min(size, rows - start)
    score = rng.random(n)
    label = (rng.random(n) < score).astype(np.float64)
    chunk = Chunk(start, n, {k: rng.normal(0.1, 1, n) for k in names}, {},
                  {"prediction": Predictions(score, none[:n], None),
                   "label": Predictions(label, none[:n], None)})
    collector.update(chunk)
    perf.update(chunk)
report = analyze(profile, collector.snapshot(), Thresholds(), perf.performance("generated"))
assert report.rows == rows and report.performance is not None
assert report.performance.samples == rows
# VmHWM: this process's peak RSS in KiB (ru_maxrss would include the forking parent's)
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


def _peak_rss_kib(rows: int) -> int:
    return peak_rss_kib(_MEMORY_CHILD, str(rows))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's VmHWM")
def test_whole_file_memory_does_not_grow_with_the_rows() -> None:
    """2 million rows (6 columns: 96 MB of values, several hundred MB as the per-row lists
    of before) peak within 4 MB of 200,000 rows: only the capped samples and sums stay."""
    small = _peak_rss_kib(200_000)
    large = _peak_rss_kib(2_000_000)
    assert large - small < 4 * 1024, (small, large)
