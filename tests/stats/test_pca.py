"""PCA reconstruction error: the fit against numpy.linalg.svd of the standardised matrix
and hand calculations; imputation of missing values as NannyML does (reference mean)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exporter.stats.pca import fit, jacobi_eigh, row_errors, window_error


def test_fit_matches_svd_of_the_standardised_matrix() -> None:
    rng = np.random.default_rng(7)
    cov = np.array([[1, .8, .2, 0], [.8, 1, .1, 0], [.2, .1, 1, .3], [0, 0, .3, 1]])
    x = rng.multivariate_normal([1, 2, 3, 4], cov, 3_000) * [1, 10, .1, 5]
    held = rng.multivariate_normal([1, 2, 3, 4], cov, 1_000) * [1, 10, .1, 5]
    m = fit(("a", "b", "c", "d"), x, held, 0.65)
    assert m is not None
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    share = s**2 / (s**2).sum()
    k = int(np.argmax(np.cumsum(share) > 0.65)) + 1  # smallest k exceeding the share
    c = np.asarray(m.components)
    assert c.shape == (k, 4)
    np.testing.assert_allclose(c.T @ c, vt[:k].T @ vt[:k], atol=1e-9)  # same subspace
    assert m.explained == pytest.approx(share[:k].sum(), rel=1e-12)
    zh = (held - x.mean(axis=0)) / x.std(axis=0)
    resid = zh - zh @ vt[:k].T @ vt[:k]
    oracle = np.linalg.norm(resid, axis=1)
    np.testing.assert_allclose(row_errors(m, held), oracle, rtol=1e-9)
    assert m.error_mean == pytest.approx(oracle.mean(), rel=1e-12)
    assert m.error_std == pytest.approx(oracle.std(ddof=1), rel=1e-12)
    assert (m.fit_rows, m.error_rows) == (3_000, 1_000)


def test_hand_computed_two_feature_case() -> None:
    # b = 2a exactly: standardised rows lie on z1 = z2; one component (1, 1)/sqrt(2)
    a = np.arange(10, dtype=np.float64)
    x = np.column_stack([a, 2 * a])
    m = fit(("a", "b"), x, x, 0.65)
    assert m is not None
    np.testing.assert_allclose(m.components, [[1 / math.sqrt(2), 1 / math.sqrt(2)]])
    assert m.center == (4.5, 9.0)
    assert m.scale == pytest.approx((math.sqrt(8.25), 2 * math.sqrt(8.25)))
    assert m.explained == pytest.approx(1.0)
    # a row one std above on a and one std below on b: z = (1, -1), error sqrt(2)
    s = math.sqrt(8.25)
    row = np.array([[4.5 + s, 9.0 - 2 * s]])
    assert row_errors(m, row)[0] == pytest.approx(math.sqrt(2))
    assert window_error(m, np.vstack([row, x[:1]])) == pytest.approx(math.sqrt(2) / 2)
    assert m.error_mean == pytest.approx(0.0, abs=1e-12)


def test_missing_values_take_the_reference_mean_before_standardising() -> None:
    # a = [0, 2, nan, 4]: the imputation mean is 2; the imputed column [0, 2, 2, 4] has
    # population std sqrt(2) (StandardScaler after SimpleImputer, as NannyML)
    fit_rows = np.array([[0, 1], [2, 3], [np.nan, 2], [4, 6]] * 3, dtype=np.float64)
    m = fit(("a", "b"), fit_rows, fit_rows, 0.5)
    assert m is not None
    assert m.impute[0] == 2.0 and m.center[0] == 2.0
    assert m.scale[0] == pytest.approx(math.sqrt(2))
    # a missing value reconstructs like the mean itself; all missing: z = 0, error 0
    probe = np.array([[np.nan, 5.0], [2.0, 5.0], [np.nan, np.nan]])
    e = row_errors(m, probe)
    assert e[0] == e[1]
    assert e[2] == 0.0


def test_band_for_the_window_size() -> None:
    x = np.random.default_rng(3).standard_normal((400, 3))
    m = fit(("a", "b", "c"), x[:200], x[200:])
    assert m is not None
    lo, hi = m.band(100, 3.0)
    half = 3.0 * m.error_std * math.sqrt(1 / 100 + 1 / 200)
    assert (lo, hi) == pytest.approx((m.error_mean - half, m.error_mean + half))
    assert m.band(1, 50.0)[0] == 0.0  # clipped at zero


def test_no_model_without_enough_rows_or_features() -> None:
    x = np.random.default_rng(1).standard_normal((50, 2))
    assert fit(("a",), x[:, :1], x[:, :1]) is None
    assert fit(("a", "b"), x[:5], x) is None
    x[:, 1] = np.nan
    assert fit(("a", "b"), x, x) is None
    c = np.ones((20, 2))
    m = fit(("a", "b"), c, c)  # constant columns: scale 1, no division by zero
    assert m is not None and m.scale == (1.0, 1.0) and m.error_mean == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_jacobi_eigh_matches_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = int(rng.integers(2, 12))
    b = rng.standard_normal((d, d))
    a = b @ b.T
    if seed % 2:  # repeated eigenvalues (an isotropic block), as for independent features
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        a = q @ np.diag([3.0, *([1.0] * (d - 2)), 0.5]) @ q.T
    values, vectors = jacobi_eigh(a)
    want = np.linalg.eigvalsh(a)
    np.testing.assert_allclose(np.sort(values), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(vectors.T @ vectors, np.eye(d), atol=1e-12)  # orthonormal
    np.testing.assert_allclose(a @ vectors, vectors * values, atol=1e-9)  # A v = lambda v
