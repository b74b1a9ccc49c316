from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from exporter.stats.chi2 import chi2_homogeneity, chi2_pooled, contingency_table


def _scipy(ref: list[int], cur: list[int]) -> tuple[float, float, int]:
    table = np.array([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    res = sps.chi2_contingency(table)
    return float(res.statistic), float(res.pvalue), int(res.dof)


@pytest.mark.parametrize(("ref", "cur"), [
    ([500, 300, 150, 50, 0], [450, 320, 180, 40, 10]),  # unseen bucket filled in current
    ([500, 300, 0, 50, 0], [450, 320, 0, 40, 0]),  # empty columns dropped
    ([900, 100], [850, 150]),  # dof 1: Yates' correction applies
    ([3, 1], [1, 0]),  # tiny: correction capped at |O - E|
    ([10, 20, 30], [0, 0, 60]),
])
def test_equals_scipy_chi2_contingency(ref: list[int], cur: list[int]) -> None:
    got = chi2_homogeneity(np.array(ref), np.array(cur))
    stat, p, dof = _scipy(ref, cur)
    assert got.statistic == pytest.approx(stat, rel=1e-9, abs=1e-12)
    assert got.pvalue == pytest.approx(p, rel=1e-9, abs=1e-300)
    assert got.dof == dof


def test_hand_computed_two_by_three() -> None:
    # rows 60 / 40, columns 30 / 30 / 40, N = 100
    ref, cur = np.array([20, 20, 20]), np.array([10, 10, 20])
    expected = np.outer([60, 40], [30, 30, 40]) / 100
    observed = np.array([ref, cur])
    stat = float(np.sum((observed - expected) ** 2 / expected))
    got = chi2_homogeneity(ref, cur)
    assert got.statistic == pytest.approx(stat, rel=1e-12)
    assert got.pvalue == pytest.approx(float(np.exp(-stat / 2)), rel=1e-12)  # chi2 sf, dof 2
    assert got.dof == 2


def test_degenerate_tables_give_no_evidence() -> None:
    for ref, cur in (([5, 0, 0], [7, 0, 0]), ([0, 0], [0, 0]), ([3, 4], [0, 0])):
        got = chi2_homogeneity(np.array(ref), np.array(cur))
        assert (got.statistic, got.pvalue, got.dof) == (0.0, 1.0, 0)


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="equal length"):
        chi2_homogeneity(np.array([1, 2]), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="non-negative"):
        contingency_table(np.array([1, -2]), np.array([1, 2]))


@settings(deadline=None)  # timing is not under test; the machine may be busy
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=8))
def test_property_equals_scipy_pvalue_in_unit_interval(cols: list[tuple[int, int]]) -> None:
    ref = np.array([c[0] for c in cols])
    cur = np.array([c[1] for c in cols])
    got = chi2_homogeneity(ref, cur)
    assert 0.0 <= got.pvalue <= 1.0 and got.statistic >= 0.0
    table = np.array([ref, cur])[:, (ref + cur) > 0]
    if table.shape[1] >= 2 and ref.sum() > 0 and cur.sum() > 0:
        stat, p, dof = _scipy(list(ref), list(cur))
        assert got.statistic == pytest.approx(stat, rel=1e-9, abs=1e-9)
        assert got.pvalue == pytest.approx(p, rel=1e-9, abs=1e-12)
        assert got.dof == dof
    perm = np.random.default_rng(len(cols)).permutation(len(cols))
    swapped = chi2_homogeneity(ref[perm], cur[perm])
    assert swapped.statistic == pytest.approx(got.statistic, rel=1e-9, abs=1e-9)


def test_pooled_merges_columns_of_expected_count_below_five() -> None:
    # n = 200 of N + n = 1200: expected current count of column j is (r_j + c_j) / 6.
    ref = np.array([500, 300, 150, 20, 10, 8, 12])
    cur = np.array([90, 60, 35, 6, 2, 7, 0])
    # Expected: 98.3, 60, 30.8, 4.3, 2, 2.5, 2 -> the last four are pooled by hand.
    table = np.array([[500, 300, 150, 50], [90, 60, 35, 15]])
    res = sps.chi2_contingency(table)
    got = chi2_pooled(ref, cur)
    assert got.dof == 3 == int(res.dof)
    assert got.statistic == pytest.approx(float(res.statistic), rel=1e-12)
    assert got.pvalue == pytest.approx(float(res.pvalue), rel=1e-10)


def test_pooled_is_the_plain_test_when_nothing_is_sparse() -> None:
    ref, cur = np.array([500, 300, 200]), np.array([100, 80, 20])
    assert chi2_pooled(ref, cur) == chi2_homogeneity(ref, cur)
    assert chi2_pooled(np.array([0, 0]), np.array([0, 0])).pvalue == 1.0
    # Everything sparse: one pooled column, no evidence.
    assert chi2_pooled(np.array([10, 10]), np.array([1, 2])).pvalue == 1.0
