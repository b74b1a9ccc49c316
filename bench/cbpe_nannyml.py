"""mlmon's CBPE estimate against NannyML's CBPE on the same shifted windows.

The scenarios of ``tests/stats/test_cbpe.py`` (binary: logistic true P(y | x), reference
20,000 labelled rows, windows of 10,000 rows under covariate shift), plus the same with
the scores distorted to s². For each window: the realized accuracy, mlmon's estimate
(``exporter.stats`` with the isotonic map fitted on the reference) and NannyML's
(``nml.CBPE`` fitted on the same reference, in ``.venv-peer-nannyml``: ``make
bench-peers``). Figures only. Run: ``python bench/cbpe_nannyml.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter.stats.calibration import fit_binary  # noqa: E402
from exporter.stats.cbpe import estimate_binary  # noqa: E402

PEER = ROOT / ".venv-peer-nannyml" / "bin" / "python"
JOB = ROOT / "bench" / "peer_jobs" / "nannyml_cbpe_job.py"
REF, WINDOW = 20_000, 10_000
W, B = np.array([2.0, -1.0]), 0.3
SHIFTS = {
    "no shift": ((0.0, 0.0), 1.0),
    "toward boundary (x0 -0.15, scale 0.7)": ((-0.15, 0.0), 0.7),
    "onto boundary (x0 -0.15, x1 +0.3, scale 0.6)": ((-0.15, 0.3), 0.6),
    "away from boundary (x0 +1)": ((1.0, 0.0), 1.0),
    "variance down (scale 0.5)": ((0.0, 0.0), 0.5),
    "variance up (scale 2)": ((0.0, 0.0), 2.0),
    "far side (x0 -1.5)": ((-1.5, 0.0), 1.0),
}


def _draw(rng: np.random.Generator, n: int, mean: tuple[float, float],
          scale: float) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(mean, scale, size=(n, 2))
    p = 1.0 / (1.0 + np.exp(-(x @ W + B)))
    return p, (rng.random(n) < p).astype(np.int64)


def _table(score: np.ndarray, label: np.ndarray) -> pa.Table:
    return pa.table({"score": score, "pred": (score >= 0.5).astype(np.int64), "label": label})


def main() -> int:
    if not PEER.exists():
        print(f"{PEER} missing: run make bench-peers")
        return 1
    for distort in (False, True):
        rng = np.random.default_rng(13)
        ref_s, ref_y = _draw(rng, REF, (0.0, 0.0), 1.0)
        f = (lambda s: s**2) if distort else (lambda s: s)
        cal = fit_binary(f(ref_s), ref_y, ("0", "1"))
        windows = [_draw(rng, WINDOW, mean, scale) for mean, scale in SHIFTS.values()]
        with tempfile.TemporaryDirectory() as tmp:
            pq.write_table(_table(f(ref_s), ref_y), f"{tmp}/ref.parquet")
            pq.write_table(_table(np.concatenate([f(s) for s, _ in windows]),
                                  np.concatenate([y for _, y in windows])),
                           f"{tmp}/analysis.parquet")
            out = subprocess.run([str(PEER), str(JOB), f"{tmp}/ref.parquet",
                                  f"{tmp}/analysis.parquet", str(WINDOW)],
                                 capture_output=True, text=True, check=True)
        nanny = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"\nscores {'s² (miscalibrated)' if distort else 's (calibrated)'}")
        print(f"{'scenario':46s} {'realized':>9} {'mlmon':>9} {'NannyML':>9} "
              f"{'|mlmon-real|':>12} {'|Nanny-real|':>12}")
        for (name, _), (s, y), nv in zip(SHIFTS.items(), windows, nanny, strict=True):
            real = float(np.mean((f(s) >= 0.5).astype(np.int64) == y))
            est = estimate_binary(f(s), cal).accuracy
            print(f"{name:46s} {real:9.4f} {est:9.4f} {nv:9.4f} {abs(est - real):12.4f} "
                  f"{abs(nv - real):12.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
