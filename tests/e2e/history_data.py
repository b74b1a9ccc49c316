"""Generate mlmon history with known slopes and crossings as OpenMetrics for backfill."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY = 86_400.0
STEP = 300.0


@dataclass(frozen=True)
class Truth:
    start: float
    end: float
    amount_slope_per_day: float = 0.12  # PSI of amount, version 3: 0.02 + 0.12/day
    income_slope_per_day: float = 0.05  # PSI of income, version 3: 0.05 + 0.05/day
    acc3_start: float = 0.92  # accuracy of version 3 falls linearly to acc3_end
    acc3_end: float = 0.90
    acc4: float = 0.95
    joined_per_step: int = 50
    region_step_hours: float = 30.0  # PSI of region, version 3: 0.04, then 0.19 from here
    region_before: float = 0.04
    region_after: float = 0.19

    @property
    def region_step_at(self) -> float:
        return self.start + self.region_step_hours * 3600.0

    @property
    def amount_medium_at(self) -> float:
        return self.start + (0.10 - 0.02) / self.amount_slope_per_day * DAY

    @property
    def amount_high_at(self) -> float:
        return self.start + (0.25 - 0.02) / self.amount_slope_per_day * DAY

    @property
    def income_high_at(self) -> float:
        return self.start + (0.25 - 0.05) / self.income_slope_per_day * DAY


def generate(end: float, days: float = 2.0, seed: int = 11) -> tuple[str, Truth]:
    rng = np.random.default_rng(seed)
    start = end - days * DAY
    truth = Truth(start=start, end=end)
    t = np.arange(start, end + 1, STEP)
    elapsed = (t - start) / DAY
    psi = {
        ("3", "amount"): 0.02 + truth.amount_slope_per_day * elapsed,
        ("3", "income"): 0.05 + truth.income_slope_per_day * elapsed
        + rng.normal(0, 0.004, t.size),
        ("3", "age"): 0.03 + rng.normal(0, 0.004, t.size),
        ("4", "amount"): 0.02 + rng.normal(0, 0.002, t.size),
    }
    psi[("3", "region")] = (np.where(t >= truth.region_step_at, truth.region_after,
                                     truth.region_before) + rng.normal(0, 0.004, t.size))
    acc3 = truth.acc3_start + (truth.acc3_end - truth.acc3_start) * elapsed / days
    acc = {"3": acc3, "4": np.full(t.size, truth.acc4)}
    lines: list[str] = []

    def series(name: str, labels: str, values: np.ndarray) -> None:
        lines.extend(f"{name}{{{labels}}} {v:.6f} {ts:.0f}" for ts, v in zip(t, values,
                                                                              strict=True))

    lines.append("# TYPE mlmon_feature_psi gauge")
    for (version, feature), values in psi.items():
        series("mlmon_feature_psi",
               f'model="fraud",version="{version}",feature="{feature}"', values)
    lines.append("# TYPE mlmon_accuracy_ratio gauge")
    for version, values in acc.items():
        series("mlmon_accuracy_ratio", f'model="fraud",version="{version}"', values)
    lines.append("# TYPE mlmon_threshold gauge")
    for version in ("3", "4"):
        for name, value in (("psi_medium", 0.1), ("psi_high", 0.25)):
            series("mlmon_threshold", f'model="fraud",version="{version}",threshold="{name}"',
                   np.full(t.size, value))
    lines.append("# TYPE mlmon_labels_joined counter")
    for version in ("3", "4"):
        series("mlmon_labels_joined_total", f'model="fraud",version="{version}"',
               np.arange(t.size, dtype=np.float64) * truth.joined_per_step)
    lines.append("# EOF")
    return "\n".join(lines) + "\n", truth
