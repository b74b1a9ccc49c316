"""Series with known slopes, crossings and levels for the history unit tests.

Times: 2024-03-01 00:00 UTC (unix 1709251200) to 2024-03-03 00:00 UTC, one
sample every 5 minutes (577 samples), the same grid the tests query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tests.history.promfake import Stored

DAY = 86_400.0
STEP = 300.0
START = 1_709_251_200.0  # 2024-03-01 00:00:00 UTC
END = START + 2 * DAY  # 2024-03-03 00:00:00 UTC
T = np.arange(START, END + 1, STEP)
ELAPSED = (T - START) / DAY  # days since START

AMOUNT_SLOPE = 0.13  # PSI per day, exact line 0.02 + 0.13·days (version 3)
INCOME_SLOPE = 0.05  # PSI per day, 0.05 + 0.05·days + N(0, 0.004) (version 3)
ACC3_START, ACC3_END = 0.92, 0.90  # accuracy of version 3, linear
ACC4 = 0.95  # accuracy of version 4, constant
F1_SLOPE = -0.01  # macro F1 of version 3: 0.80 − 0.01·days
JOINED_PER_STEP = 50.0  # labels joined per 5 minutes, both versions


@dataclass(frozen=True)
class Fraud:
    series: list[Stored]
    psi: dict[tuple[str, str], NDArray[np.float64]]  # (version, feature) -> values
    accuracy: dict[str, NDArray[np.float64]]
    mae: dict[str, NDArray[np.float64]]
    f1_macro: NDArray[np.float64]


def stored(name: str, values: NDArray[np.float64], t: NDArray[np.float64] = T,
           **labels: str) -> Stored:
    return Stored(name, dict(labels), np.asarray(t, dtype=np.float64),
                  np.asarray(values, dtype=np.float64))


def fraud(seed: int = 11) -> Fraud:
    """Model "fraud", versions 3 and 4, plus model "churn" with only old data."""
    rng = np.random.default_rng(seed)
    psi = {
        ("3", "amount"): 0.02 + AMOUNT_SLOPE * ELAPSED,
        ("3", "income"): 0.05 + INCOME_SLOPE * ELAPSED + rng.normal(0, 0.004, T.size),
        ("3", "age"): 0.03 + rng.normal(0, 0.004, T.size),
        ("4", "amount"): 0.02 + rng.normal(0, 0.002, T.size),
    }
    accuracy = {"3": ACC3_START + (ACC3_END - ACC3_START) * ELAPSED / 2.0,
                "4": np.full(T.size, ACC4)}
    mae = {"3": 1.5 + rng.normal(0, 0.05, T.size), "4": 1.2 + rng.normal(0, 0.05, T.size)}
    f1_macro = 0.80 + F1_SLOPE * ELAPSED
    series = [stored("mlmon_feature_psi", v, model="fraud", version=ver, feature=feat)
              for (ver, feat), v in psi.items()]
    series += [stored("mlmon_accuracy_ratio", v, model="fraud", version=ver)
               for ver, v in accuracy.items()]
    series += [stored("mlmon_regression_mae", v, model="fraud", version=ver)
               for ver, v in mae.items()]
    series.append(Stored("mlmon_f1_ratio", {"model": "fraud", "version": "3",
                                            "class": "__macro__"}, T, f1_macro))
    # a per-class F1 series the report must not mix into the macro average
    series.append(Stored("mlmon_f1_ratio", {"model": "fraud", "version": "3", "class": "fraud"},
                         T, np.full(T.size, 0.30)))
    for ver in ("3", "4"):
        for name, value in (("psi_medium", 0.1), ("psi_high", 0.25)):
            series.append(stored("mlmon_threshold", np.full(T.size, value), model="fraud",
                                 version=ver, threshold=name))
        series.append(stored("mlmon_labels_joined_total",
                             np.arange(T.size, dtype=np.float64) * JOINED_PER_STEP,
                             model="fraud", version=ver))
    old = T - 30 * DAY
    series.append(stored("mlmon_feature_psi", np.full(T.size, 0.05), t=old, model="churn",
                         version="1", feature="tenure"))
    # a series of another program that must not count as an mlmon model
    series.append(stored("up", np.ones(T.size), job="node", model="not-mlmon"))
    return Fraud(series, psi, accuracy, mae, f1_macro)
