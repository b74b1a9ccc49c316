"""Drift severity from PSI thresholds.

LOW when PSI < medium, MEDIUM when medium ≤ PSI < high, HIGH when PSI ≥ high
(the customary 0.1 / 0.25 rule of thumb: Siddiqi, *Credit Risk Scorecards*,
2006). The KS and chi-square tests are exported beside the severity so alert
rules can combine them; they do not change it.
"""

from __future__ import annotations

import math
from enum import IntEnum

# Defaults: the one place these numbers live (config, docs and rules tests read them).
DEFAULT_PSI_MEDIUM = 0.1
DEFAULT_PSI_HIGH = 0.25
DEFAULT_KS_ALPHA = 0.01
DEFAULT_CHI2_ALPHA = 0.01
DEFAULT_MIN_SAMPLES = 500


class Severity(IntEnum):
    LOW = 0
    MEDIUM = 1
    HIGH = 2

    @property
    def label(self) -> str:
        return self.name.lower()


def severity(
    psi: float, medium: float = DEFAULT_PSI_MEDIUM, high: float = DEFAULT_PSI_HIGH
) -> Severity:
    if not medium <= high:
        raise ValueError(f"PSI thresholds must satisfy medium <= high, got {medium} > {high}")
    if math.isnan(psi):
        raise ValueError("PSI is NaN: no severity can be given")
    if psi >= high:
        return Severity.HIGH
    if psi >= medium:
        return Severity.MEDIUM
    return Severity.LOW


def verdict(psi: float, samples: int, min_samples: int,
            medium: float = DEFAULT_PSI_MEDIUM, high: float = DEFAULT_PSI_HIGH) -> Severity | None:
    """None (no verdict) below ``min_samples``."""
    if samples < min_samples:
        return None
    return severity(psi, medium, high)
