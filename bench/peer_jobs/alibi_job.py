"""Alibi Detect: KSDrift on the numeric features, ChiSquareDrift on the categorical ones.

Runs in .venv-peer-alibi: ``python bench/peer_jobs/alibi_job.py WORKDIR/workload.json``.
Categories are integer-encoded over the reference's categories, as ChiSquareDrift
requires. Library defaults (p_val 0.05); a feature is flagged when its own test rejects
(``predict(drift_type="feature")``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from alibi_detect.cd import ChiSquareDrift, KSDrift
from common import columns, done, encode, spec


def arrays(s: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(reference numeric, reference codes, current numeric, current codes)."""
    ref_num = np.column_stack(columns(s["reference"], s["numeric"]))
    cur_num = np.column_stack(columns(s["current"], s["numeric"]))
    pairs = [encode(r, c) for r, c in zip(columns(s["reference"], s["categorical"]),
                                          columns(s["current"], s["categorical"]),
                                          strict=True)]
    ref_cat = np.column_stack([r for r, _ in pairs])
    cur_cat = np.column_stack([c for _, c in pairs])
    return ref_num, ref_cat, cur_num, cur_cat


def detectors(ref_num: np.ndarray, ref_cat: np.ndarray) -> tuple[KSDrift, ChiSquareDrift]:
    return KSDrift(ref_num), ChiSquareDrift(ref_cat)


def predict(ks: KSDrift, chi2: ChiSquareDrift, cur_num: np.ndarray,
            cur_cat: np.ndarray) -> tuple[Any, Any]:
    return (ks.predict(cur_num, drift_type="feature")["data"]["is_drift"],
            chi2.predict(cur_cat, drift_type="feature")["data"]["is_drift"])


def main() -> int:
    s = spec()
    ref_num, ref_cat, cur_num, cur_cat = arrays(s)
    ks, chi2 = detectors(ref_num, ref_cat)
    num_drift, cat_drift = predict(ks, chi2, cur_num, cur_cat)
    done([n for n, d in zip(s["numeric"] + s["categorical"],
                            [*num_drift, *cat_drift], strict=True) if d])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
