"""The isotonic calibration map (exporter.stats.calibration) against independent oracles:
the min-max formula of isotonic regression, hand computations and a known distortion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.stats.calibration import (
    MAX_POINTS,
    Calibration,
    CalibrationMap,
    calibrate_proba,
    fit_binary,
    fit_map,
    fit_multiclass,
    pav,
)


def _minmax_isotonic(v: list[float], w: list[float]) -> list[float]:
    """f_i = max_{j<=i} min_{k>=i} weighted mean(v_j..v_k) (Barlow et al. 1972)."""
    n = len(v)

    def avg(j: int, k: int) -> float:
        return sum(v[t] * w[t] for t in range(j, k + 1)) / sum(w[j:k + 1])

    return [max(min(avg(j, k) for k in range(i, n)) for j in range(i + 1)) for i in range(n)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0.1, 10)), min_size=1, max_size=12))
def test_pav_equals_minmax_formula(data: list[tuple[float, float]]) -> None:
    v = [a for a, _ in data]
    w = [b for _, b in data]
    assert pav(np.array(v), np.array(w)).tolist() == pytest.approx(_minmax_isotonic(v, w),
                                                                   abs=1e-9)


def test_pav_by_hand() -> None:
    # 0.2 | 0.6 0.4 pooled (weights 1, 3) -> 0.45 | 0.9
    assert pav(np.array([0.2, 0.6, 0.4, 0.9]), np.array([1.0, 1.0, 3.0, 1.0])).tolist() == \
        pytest.approx([0.2, 0.45, 0.45, 0.9])


def test_map_recovers_a_known_distortion_and_is_bounded() -> None:
    """True P(y=1) = s, the model reports s² : the map must be close to sqrt."""
    rng = np.random.default_rng(3)
    s = rng.random(20_000)
    y = rng.random(20_000) < s
    m = fit_map(s**2, y)
    assert m is not None
    assert len(m.x) <= MAX_POINTS
    grid = np.array([0.04, 0.16, 0.36, 0.64, 0.81])
    got = m.apply(grid)
    print(f"\nmap of s^2 at {grid.tolist()}: {np.round(got, 3).tolist()} (sqrt: "
          f"{np.sqrt(grid).tolist()})")
    assert np.all(np.abs(got - np.sqrt(grid)) < 0.05)
    assert np.all(np.diff(m.y) >= 0)


def test_map_interpolates_and_clamps() -> None:
    m = CalibrationMap((0.2, 0.6), (0.1, 0.5))
    out = m.apply(np.array([0.0, 0.2, 0.4, 0.6, 1.0, np.nan]))
    assert out[:5].tolist() == pytest.approx([0.1, 0.1, 0.3, 0.5, 0.5])
    assert np.isnan(out[5])


def test_map_rejects_bad_points() -> None:
    with pytest.raises(ValueError, match="increasing"):
        CalibrationMap((0.5, 0.5), (0.1, 0.2))
    with pytest.raises(ValueError, match="non-decreasing"):
        CalibrationMap((0.1, 0.5), (0.3, 0.2))
    with pytest.raises(ValueError, match="within"):
        CalibrationMap((0.1,), (1.5,))


def test_small_and_tied_reference() -> None:
    # 10 rows: one group; every score tied: one point at their mean with the positive share
    m = fit_map(np.full(10, 0.7), np.array([1] * 6 + [0] * 4, dtype=bool))
    assert m is not None and m.x == (pytest.approx(0.7),) and m.y == (pytest.approx(0.6),)
    assert fit_map(np.array([np.nan]), np.array([True])) is None
    cal = fit_binary(np.array([0.1, 0.9, np.nan]), np.array([0, 1, 1]), ("n", "p"))
    assert cal is not None and cal.rows == 2 and cal.binary


def test_multiclass_renormalises_rows() -> None:
    cal = Calibration(3, ("a", "b", "c"), (
        CalibrationMap((0.0, 1.0), (0.0, 0.5)),  # halves class a
        CalibrationMap((0.0, 1.0), (0.0, 1.0)),  # identity
        CalibrationMap((0.0, 1.0), (0.0, 1.0))))
    p = np.array([[0.6, 0.3, 0.1], [0.0, 0.0, 0.0]])
    out = calibrate_proba(p, cal)
    # row 1: (0.3, 0.3, 0.1) / 0.7; row 2: all zero -> kept raw
    assert out[0].tolist() == pytest.approx([0.3 / 0.7, 0.3 / 0.7, 0.1 / 0.7])
    assert out[1].tolist() == [0.0, 0.0, 0.0]


def test_fit_multiclass_one_vs_rest() -> None:
    rng = np.random.default_rng(4)
    n = 6000
    p = rng.dirichlet([1, 1, 1], size=n)
    y = np.array([rng.choice(3, p=row) for row in p])
    cal = fit_multiclass(p, y, ("a", "b", "c"))
    assert cal is not None and cal.rows == n and len(cal.maps) == 3 and not cal.binary
    # calibrated already: each one-vs-rest map is near the identity
    for m in cal.maps:
        grid = np.array([0.2, 0.5, 0.8])
        assert np.all(np.abs(m.apply(grid) - grid) < 0.06)
