"""Drift severity from PSI thresholds."""

from __future__ import annotations

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
    raise NotImplementedError


def verdict(psi: float, samples: int, min_samples: int,
            medium: float = DEFAULT_PSI_MEDIUM, high: float = DEFAULT_PSI_HIGH) -> Severity | None:
    """None (no verdict) below ``min_samples``."""
    raise NotImplementedError
