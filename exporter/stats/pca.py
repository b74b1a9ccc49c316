"""Multivariate drift: PCA data-reconstruction error (NannyML's method, numeric features).

Fit, on reference rows ``X`` (n x d, NaN = missing):

1. Imputation: a missing value becomes its feature's reference mean ``mu_j`` (the mean of
   the non-missing values; NannyML's default ``SimpleImputer(strategy="mean")``).
2. Standardisation: ``z_ij = (x_ij - c_j) / s_j`` with ``c_j``, ``s_j`` the mean and
   population standard deviation of the imputed column (``StandardScaler``; ``s_j = 1``
   for a constant column).
3. PCA: the eigenvectors of ``Z^T Z / n`` (cyclic Jacobi, ``jacobi_eigh``), largest eigenvalue
   first; keep the smallest ``k`` whose cumulative share of the total variance exceeds
   ``variance_share`` (default 0.65, scikit-learn's rule for a fractional
   ``n_components``). ``C`` is the k x d matrix of kept components.

Reconstruction error of a row: ``e = || z - z C^T C ||_2`` (the Euclidean distance between
the standardised row and its reconstruction); of a window of ``n`` rows, the mean of its
rows' errors (Jolliffe, *Principal Component Analysis*, 2nd ed., 2002, sec. 10.1;
NannyML, "Data Reconstruction with PCA", docs/how_it_works/data_reconstruction.rst).

Band. NannyML's thresholds are the mean +- 3 standard deviations of the error over
reference chunks. For independent rows the error of an n-row window has standard deviation
``sigma / sqrt(n)``, with ``sigma`` the per-row error's standard deviation, so the band is
computed for the actual window size: ``mean +- sigmas * sigma * sqrt(1/n + 1/m)``, where
``mean`` and ``sigma`` come from ``m`` reference rows NOT used in the fit (rows the PCA was
fitted on reconstruct slightly better than fresh rows) and the ``1/m`` term is the
uncertainty of that reference mean (a prediction interval; as m grows it becomes
NannyML's ``+- 3 sigma_chunk``). The lower limit is clipped at 0.

Determinism: a profile's content hash must not depend on the machine, so the fit uses no
BLAS or LAPACK (whose summation order depends on the CPU's kernels): sums are
``math.fsum``, products elementwise, the eigenvectors cyclic Jacobi rotations; a row's
error is computed from its own values in a fixed order, so it is the same in any chunk.

Categorical features are not included (NannyML frequency-encodes them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from exporter.stats.thresholds import DEFAULT_SIGMAS, DEFAULT_VARIANCE_SHARE

MIN_ROWS = 10  # fewer fit or evaluation rows than this: no model


@dataclass(frozen=True)
class PcaModel:
    features: tuple[str, ...]  # numeric features, in config order
    impute: tuple[float, ...]  # per feature: the value a missing value becomes
    center: tuple[float, ...]  # standardisation: mean of the imputed column
    scale: tuple[float, ...]  # population std of the imputed column (1 if constant)
    components: tuple[tuple[float, ...], ...]  # k x d, orthonormal rows
    variance_share: float  # the share asked for
    explained: float  # the share of variance the kept components explain
    fit_rows: int
    error_rows: int  # m: held-out rows the error's mean and std come from
    error_mean: float  # mean per-row reconstruction error of the held-out rows
    error_std: float  # their standard deviation (ddof=1)

    def band(self, n: int, sigmas: float = DEFAULT_SIGMAS) -> tuple[float, float]:
        """(lower, upper) for the mean error of an n-row window."""
        half = sigmas * self.error_std * math.sqrt(1.0 / n + 1.0 / self.error_rows)
        return max(0.0, self.error_mean - half), self.error_mean + half


@dataclass(frozen=True)
class Reconstruction:
    """The mean error of a window (a batch file, a chunk) and its band for that many rows."""

    error: float
    lower: float
    upper: float
    rows: int
    sigmas: float
    components: int
    explained: float

    @property
    def outside(self) -> bool:
        return not self.lower <= self.error <= self.upper


def judge(m: PcaModel, error: float, rows: int,
          sigmas: float = DEFAULT_SIGMAS) -> Reconstruction:
    """``error`` (the mean over ``rows`` rows) with its band."""
    lower, upper = m.band(rows, sigmas)
    return Reconstruction(error, lower, upper, rows, sigmas, len(m.components), m.explained)


def _impute(x: NDArray[np.float64], fill: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(np.isnan(x), fill, x)


def _mean(v: NDArray[np.float64]) -> float:
    return math.fsum(v.tolist()) / v.size


def _std(v: NDArray[np.float64], ddof: int = 0) -> float:
    mu = _mean(v)
    return math.sqrt(math.fsum(((v - mu) ** 2).tolist()) / (v.size - ddof))


def row_errors(m: PcaModel, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Reconstruction error of each row of x (n x d, columns in ``m.features`` order)."""
    d = len(m.features)
    x = np.asarray(x, dtype=np.float64).reshape(-1, d)
    z = [(np.where(np.isnan(x[:, j]), m.impute[j], x[:, j]) - m.center[j]) / m.scale[j]
         for j in range(d)]
    r = [col.copy() for col in z]
    for comp in m.components:
        score = z[0] * comp[0]
        for j in range(1, d):
            score = score + z[j] * comp[j]
        for j in range(d):
            r[j] = r[j] - score * comp[j]
    total = r[0] * r[0]
    for j in range(1, d):
        total = total + r[j] * r[j]
    out: NDArray[np.float64] = np.sqrt(total)
    return out


def window_error(m: PcaModel, x: NDArray[np.float64]) -> float:
    """Mean reconstruction error of the rows of x (NaN for no rows)."""
    e = row_errors(m, x)
    return _mean(e) if e.size else math.nan


def _n_components(eigenvalues: NDArray[np.float64], share: float) -> int:
    total = math.fsum(eigenvalues.tolist())
    if total <= 0:
        return 1
    for k in range(1, eigenvalues.size + 1):
        if math.fsum(eigenvalues[:k].tolist()) / total > share:
            return k
    return int(eigenvalues.size)


def jacobi_eigh(a: NDArray[np.float64], sweeps: int = 100,
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi
    rotations (Golub and Van Loan, *Matrix Computations*, 4th ed., alg. 8.5.2). Only
    elementwise IEEE operations and ``math.fsum``: the same bits on every CPU and BLAS,
    which a profile's content hash needs (``numpy.linalg.eigh`` does not promise that)."""
    a = np.array(a, dtype=np.float64)
    n = a.shape[0]
    v = np.eye(n)
    outside = ~np.eye(n, dtype=bool)
    scale = math.fsum((a * a).ravel().tolist())
    for _ in range(sweeps):
        if math.fsum((a * a)[outside].tolist()) <= 1e-30 * scale:
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                apq = float(a[p, q])
                if apq == 0.0:
                    continue
                tau = (float(a[q, q]) - float(a[p, p])) / (2.0 * apq)
                t = (1.0 if tau >= 0 else -1.0) / (abs(tau) + math.sqrt(1.0 + tau * tau))
                c = 1.0 / math.sqrt(1.0 + t * t)
                s = t * c
                cp, cq = a[:, p].copy(), a[:, q].copy()
                a[:, p], a[:, q] = c * cp - s * cq, s * cp + c * cq
                rp, rq = a[p, :].copy(), a[q, :].copy()
                a[p, :], a[q, :] = c * rp - s * rq, s * rp + c * rq
                vp, vq = v[:, p].copy(), v[:, q].copy()
                v[:, p], v[:, q] = c * vp - s * vq, s * vp + c * vq
    return np.diag(a).copy(), v


def fit(features: tuple[str, ...], fit_rows: NDArray[np.float64],
        error_rows: NDArray[np.float64],
        variance_share: float = DEFAULT_VARIANCE_SHARE) -> PcaModel | None:
    """Fit on ``fit_rows``, the error's mean and std on ``error_rows`` (both n x d, NaN =
    missing). None when either has fewer than MIN_ROWS rows, there are fewer than two
    features, or a feature has no value in ``fit_rows``. Sums are ``math.fsum`` and the
    eigenvectors come from ``jacobi_eigh``: the result does not depend on the CPU."""
    d = len(features)
    n = fit_rows.shape[0]
    if d < 2 or n < MIN_ROWS or error_rows.shape[0] < MIN_ROWS:
        return None
    if not (~np.isnan(fit_rows)).any(axis=0).all():
        return None
    impute = np.array([_mean(c[~np.isnan(c)]) for c in fit_rows.T])
    filled = _impute(fit_rows, impute)
    center = np.array([_mean(c) for c in filled.T])
    scale = np.array([_std(c) for c in filled.T])
    scale = np.where(scale > 0, scale, 1.0)
    z = (filled - center) / scale
    cov = np.zeros((d, d))
    for i in range(d):
        for j in range(i, d):
            cov[i, j] = cov[j, i] = math.fsum((z[:, i] * z[:, j]).tolist()) / n
    values, vectors = jacobi_eigh(cov)
    order = np.argsort(-values, kind="stable")
    values, vectors = np.clip(values[order], 0.0, None), vectors[:, order]
    k = _n_components(values, variance_share)
    comps = vectors[:, :k].T.copy()
    # sign: each component's largest-magnitude entry positive (deterministic output)
    signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    comps *= np.where(signs == 0, 1.0, signs)[:, None]
    total = math.fsum(values.tolist())
    model = PcaModel(
        features, tuple(float(v) for v in impute), tuple(float(v) for v in center),
        tuple(float(v) for v in scale), tuple(tuple(float(v) for v in row) for row in comps),
        float(variance_share),
        min(1.0, math.fsum(values[:k].tolist()) / total) if total > 0 else 1.0,
        int(n), int(error_rows.shape[0]), 0.0, 0.0)
    e = row_errors(model, error_rows)
    return replace(model, error_mean=_mean(e), error_std=_std(e, ddof=1))
