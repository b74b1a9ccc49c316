"""Alibi Detect in-process: ``predict`` alone (KSDrift + ChiSquareDrift), timed.

Runs in .venv-peer-alibi: ``python bench/peer_jobs/alibi_predict.py WORKDIR/workload.json
[N]``. The detectors are fitted and the current data read and encoded before timing;
median of N (default 20) calls, wall (``time.perf_counter``) and CPU
(``time.process_time``). The counterpart of
``mlmon_drift.py``.
"""

from __future__ import annotations

import statistics
import sys
import time

from alibi_job import arrays, detectors, predict
from common import done, spec


def main() -> int:
    runs = int(sys.argv.pop(2)) if len(sys.argv) > 2 else 20
    s = spec()
    ref_num, ref_cat, cur_num, cur_cat = arrays(s)
    ks, chi2 = detectors(ref_num, ref_cat)
    num_drift, cat_drift = predict(ks, chi2, cur_num, cur_cat)  # warm
    seconds, cpu = [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        predict(ks, chi2, cur_num, cur_cat)
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    done([n for n, d in zip(s["numeric"] + s["categorical"],
                            [*num_drift, *cat_drift], strict=True) if d],
         runs=runs, predict=statistics.median(seconds), predict_cpu=statistics.median(cpu))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
