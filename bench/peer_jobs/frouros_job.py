"""Frouros: KSTest per numeric feature, ChiSquareTest per categorical one, p < 0.05.

Runs in .venv-peer-frouros: ``python bench/peer_jobs/frouros_job.py WORKDIR/workload.json``.
"""

from __future__ import annotations

from common import P_VALUE, columns, done, spec
from frouros.detectors.data_drift import ChiSquareTest, KSTest


def main() -> int:
    s = spec()
    names = s["numeric"] + s["categorical"]
    ref = dict(zip(names, columns(s["reference"], names), strict=True))
    cur = dict(zip(names, columns(s["current"], names), strict=True))
    flagged = []
    for name in names:
        detector = KSTest() if name in s["numeric"] else ChiSquareTest()
        detector.fit(X=ref[name])
        result, _ = detector.compare(X=cur[name])
        if result.p_value < P_VALUE:
            flagged.append(name)
    done(flagged)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
