from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from exporter.stats.severity import (
    DEFAULT_PSI_HIGH,
    DEFAULT_PSI_MEDIUM,
    Severity,
    holm,
    psi_noise_floor,
    psi_pvalue,
    psi_upper_bound,
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
    assert verdict(0.5, samples=499, min_samples=500, significant=True) is None
    assert verdict(0.5, samples=500, min_samples=500, significant=True) is Severity.HIGH


def test_verdict_is_low_unless_significant() -> None:
    assert verdict(0.5, samples=500, min_samples=500, significant=False) is Severity.LOW
    assert verdict(0.12, samples=500, min_samples=500, significant=True) is Severity.MEDIUM
    assert verdict(0.05, samples=500, min_samples=500, significant=True) is Severity.LOW


def test_medium_from_the_upper_confidence_bound_high_from_the_estimate() -> None:
    kw = {"samples": 2_000, "min_samples": 500}
    assert verdict(0.08, significant=True, psi_upper=0.11, **kw) is Severity.MEDIUM
    assert verdict(0.08, significant=True, psi_upper=0.09, **kw) is Severity.LOW
    assert verdict(0.08, significant=False, psi_upper=0.3, **kw) is Severity.LOW
    # a bound over psi_high is still only MEDIUM: HIGH acts (rollback), it needs the estimate
    assert verdict(0.2, significant=True, psi_upper=0.3, **kw) is Severity.MEDIUM
    assert verdict(0.25, significant=True, psi_upper=0.3, **kw) is Severity.HIGH


def test_psi_upper_bound_on_the_square_root_scale() -> None:
    z = sps.norm.ppf(0.975)
    # hand calculation: (√0.09 + z·0.01/(2·0.3))² = (0.3 + z/60)²
    assert psi_upper_bound(0.09, 0.01) == pytest.approx((0.3 + z / 60) ** 2, rel=1e-12)
    assert psi_upper_bound(0.0, 0.01) == pytest.approx(z * 0.01, rel=1e-12)


def test_psi_noise_floor_and_pvalue_against_scipy_chi2() -> None:
    # (1/n + 1/N) * chi2.ppf(1 - alpha, k - 1), and its inverse.
    for k, n, big_n, alpha in ((2, 500, 100_000, 0.01), (101, 600, 50_000, 0.01),
                               (10, 2_000, 10_000, 0.05)):
        scale = 1 / n + 1 / big_n
        floor = psi_noise_floor(k, n, big_n, alpha)
        assert floor == pytest.approx(scale * sps.chi2.ppf(1 - alpha, k - 1), rel=1e-10)
        assert psi_pvalue(floor, k, n, big_n) == pytest.approx(alpha, rel=1e-8)
        assert psi_pvalue(0.3, k, n, big_n) == pytest.approx(
            sps.chi2.sf(0.3 / scale, k - 1), rel=1e-10)
    # Hand value: 100 categories + __other__ at n = 600: chi2.ppf(.99, 100) = 135.807.
    assert psi_noise_floor(101, 600, 10**12, 0.01) == pytest.approx(135.807 / 600, rel=1e-5)
    assert psi_noise_floor(1, 600, 1_000, 0.01) == 0.0 and psi_pvalue(9.0, 1, 600, 1) == 1.0


def test_holm_against_hand_computation() -> None:
    # Equal alphas: the textbook procedure. m = 4, alpha = 0.05: thresholds .0125, .0167, .025.
    p = [0.010, 0.040, 0.015, 0.30]
    assert holm(p, [0.05] * 4) == [True, False, True, False]
    # 0.02 > 0.05/3: nothing is rejected, step-down stops at the first.
    assert holm([0.02, 0.03, 0.9], [0.05] * 3) == [False, False, False]
    assert holm([0.013, 0.03, 0.9], [0.05] * 3) == [True, False, False]
    assert holm([0.016, 0.001], [0.05, 0.05]) == [True, True]
    # Unequal alphas: ordered by p/alpha; 0.004/0.01 = 0.4 <= 1/2, then 0.02/0.05 <= 1.
    assert holm([0.02, 0.004], [0.05, 0.01]) == [True, True]
    assert holm([0.03, 0.006], [0.05, 0.01]) == [False, False]
    assert holm([], []) == []
    with pytest.raises(ValueError, match="alphas"):
        holm([0.1], [])


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="medium <= high"):
        severity(0.1, medium=0.3, high=0.2)
    with pytest.raises(ValueError, match="NaN"):
        severity(math.nan)


def test_verdict_uses_the_configured_high_threshold() -> None:
    # PSI 0.3 is over the default high (0.25) but under a configured 0.5: medium
    got = verdict(0.3, 1000, 100, significant=True, medium=0.1, high=0.5)
    assert got is Severity.MEDIUM
    assert verdict(0.5, 1000, 100, significant=True, medium=0.1, high=0.5) is Severity.HIGH


def test_noise_floor_and_pvalue_with_a_one_row_reference() -> None:
    # N = 1 is a valid (if tiny) reference: scale 1/600 + 1/1, no error
    scale = 1 / 600 + 1.0
    assert psi_noise_floor(3, 600, 1, 0.01) == pytest.approx(
        scale * sps.chi2.ppf(0.99, 2), rel=1e-10)
    assert psi_pvalue(4.0, 3, 600, 1) == pytest.approx(sps.chi2.sf(4.0 / scale, 2), rel=1e-10)
