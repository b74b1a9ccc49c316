from __future__ import annotations

import math

import pytest

from exporter.stats.severity import (
    DEFAULT_PSI_HIGH,
    DEFAULT_PSI_MEDIUM,
    Severity,
    severity,
    verdict,
)


def test_defaults_are_the_documented_rule_of_thumb() -> None:
    assert (DEFAULT_PSI_MEDIUM, DEFAULT_PSI_HIGH) == (0.1, 0.25)


@pytest.mark.parametrize(("psi", "expected"), [
    (0.0, Severity.LOW), (0.0999, Severity.LOW), (0.1, Severity.MEDIUM),
    (0.2499, Severity.MEDIUM), (0.25, Severity.HIGH), (7.0, Severity.HIGH),
])
def test_thresholds_inclusive(psi: float, expected: Severity) -> None:
    assert severity(psi) is expected


def test_configurable_thresholds_and_labels() -> None:
    assert severity(0.06, medium=0.05, high=0.2) is Severity.MEDIUM
    assert severity(0.2, medium=0.05, high=0.2) is Severity.HIGH
    assert [s.label for s in Severity] == ["low", "medium", "high"]
    assert [int(s) for s in Severity] == [0, 1, 2]


def test_verdict_needs_min_samples() -> None:
    assert verdict(0.5, samples=499, min_samples=500) is None
    assert verdict(0.5, samples=500, min_samples=500) is Severity.HIGH


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="medium <= high"):
        severity(0.1, medium=0.3, high=0.2)
    with pytest.raises(ValueError, match="NaN"):
        severity(math.nan)
