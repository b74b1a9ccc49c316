from __future__ import annotations

import numpy as np

from exporter.demo.model import SimpleModel
from exporter.demo.reference import ReferenceData


def _data(n: int, seed: int) -> tuple[ReferenceData, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 2))
    cat = rng.choice(np.array(["a", "b"], dtype=object), n)
    z = 1.5 * x[:, 0] - 2.0 * x[:, 1] + 1.0 * (cat == "b")
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-z)), "1", "0").astype(object)
    return ReferenceData(("x0", "x1"), ("c",), x, cat[:, None], y), z


def _hand_design(fit_on: np.ndarray, cats_fit: np.ndarray, numeric: np.ndarray,
                 cats: np.ndarray) -> np.ndarray:
    """The documented encoding, written here for data that needs no imputation and no
    log (no NaN; not both non-negative and skewed): intercept, numeric columns
    standardised by the fitted mean and population std, one-hot over the categories by
    falling frequency (ties by name)."""
    assert not np.isnan(fit_on).any()
    ordered = sorted(set(cats_fit), key=lambda c: (-int(np.sum(cats_fit == c)), c))
    z = (numeric - fit_on.mean(axis=0)) / fit_on.std(axis=0)
    one_hot = np.column_stack([cats == c for c in ordered]) if ordered else \
        np.empty((len(numeric), 0))
    return np.column_stack([np.ones(len(numeric)), z, one_hot.astype(float)])


def test_logistic_fit_recovers_the_true_coefficients() -> None:
    data, _ = _data(40_000, 3)
    model = SimpleModel.fit(data, ("0", "1"))
    # Design: intercept, standardised x0, x1 (x ~ N(0,1), so std ~ 1), one-hot a, b.
    w = model.weights[:, 0]
    std = data.numeric.std(axis=0)  # by hand, not the model's own encoding
    # one-hot columns by falling frequency (the documented encoding), after x0, x1
    ordered = sorted({"a", "b"}, key=lambda c: (-int(np.sum(data.categorical[:, 0] == c)), c))
    a, b = 3 + ordered.index("a"), 3 + ordered.index("b")
    np.testing.assert_allclose(w[1:3] / std, [1.5, -2.0], atol=0.12)
    np.testing.assert_allclose(w[b] - w[a], 1.0, atol=0.12)  # b vs a


def test_probabilities_are_normalised_and_match_the_logistic_form() -> None:
    data, _ = _data(5_000, 4)
    model = SimpleModel.fit(data, ("0", "1"))
    p = model.predict(data.numeric, data.categorical)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    x = _hand_design(data.numeric, data.categorical[:, 0], data.numeric, data.categorical[:, 0])
    w = model.weights[:, 0]
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-(x @ w))))
    # The weights are the penalised maximum-likelihood fit: the gradient of
    # mean log-loss + 1e-4·|w without intercept|² / 2 vanishes there (Newton converged).
    y = (data.labels == "1").astype(float)
    penalty = np.r_[0.0, np.full(len(w) - 1, 1e-4)]
    grad = x.T @ (p[:, 1] - y) / len(y) + penalty * w
    np.testing.assert_allclose(grad, 0.0, atol=1e-10)


def test_ridge_regression_matches_least_squares_on_clean_data() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(10, 2, (3_000, 2))
    y = (3.0 * x[:, 0] - 1.0 * x[:, 1] + 7.0).astype(object)
    data = ReferenceData(("a", "b"), (), x, np.empty((3_000, 0), dtype=object), y)
    model = SimpleModel.fit(data, ())
    pred = model.predict(x, data.categorical)
    # The L2 penalty is tiny next to 3,000 rows: predictions within 1% of the truth.
    np.testing.assert_allclose(pred, y.astype(float), rtol=0.01)
    # And exactly the documented ridge fit, solved by hand on a hand-built design:
    # w = (XᵀX + 1e-4·n·I')⁻¹ Xᵀy, the intercept not penalised.
    design = _hand_design(x, np.empty(0), x, np.empty(0))
    penalty = 1e-4 * len(x) * np.diag([0.0, 1.0, 1.0])
    w = np.linalg.solve(design.T @ design + penalty, design.T @ y.astype(float))
    np.testing.assert_allclose(pred, design @ w, rtol=1e-9)


def test_missing_values_are_imputed_with_the_median() -> None:
    data, _ = _data(2_000, 6)
    model = SimpleModel.fit(data, ("0", "1"))
    row = data.numeric[:1].copy()
    row[0, 0] = np.nan
    filled = row.copy()
    filled[0, 0] = np.median(data.numeric[:, 0])
    np.testing.assert_allclose(model.predict(row, data.categorical[:1]),
                               model.predict(filled, data.categorical[:1]))
