"""Batch statistics equal scipy / hand computations on the same samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from exporter.profile.files import load_profile
from exporter.profile.model import CategoricalProfile, NumericProfile
from tests.batch.conftest import feature, run_json
from tests.factories import current, write_config
from tests.oracle import LEVELS, categorical, numeric, verdicts

TOL = 1e-9


def _hand_psi(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float = 1e-4) -> float:
    """Proportions floored at eps and renormalised; Σ (c - r) ln(c / r)."""
    def smooth(c: np.ndarray) -> np.ndarray:
        p = np.maximum(c / c.sum(), eps)
        return p / p.sum()
    r, c = smooth(ref_counts.astype(float)), smooth(cur_counts.astype(float))
    return float(sum((ci - ri) * np.log(ci / ri) for ri, ci in zip(r, c, strict=True)))


def _bin(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    return np.bincount(np.searchsorted(np.asarray(edges), values, side="right"),
                       minlength=len(edges) + 1)


@pytest.mark.parametrize("name", ["x", "y"])
def test_numeric_statistics_equal_scipy(files: dict[str, Path], name: str) -> None:
    report = run_json(files["profile"], files["input"])
    ref = load_profile(files["profile"]).feature(name)
    assert isinstance(ref, NumericProfile)
    sample = np.asarray(ref.sample)
    values = np.asarray(current()[name], dtype=float)
    f = feature(report, name)
    ks = sps.ks_2samp(sample, values, method="asymp")
    assert f["ks_statistic"] == pytest.approx(ks.statistic, abs=TOL)
    assert f["ks_pvalue"] == pytest.approx(ks.pvalue, abs=TOL)
    assert f["wasserstein"] == pytest.approx(sps.wasserstein_distance(sample, values), abs=TOL)
    cur_counts = _bin(values, ref.edges)
    assert f["psi"] == pytest.approx(_hand_psi(np.asarray(ref.counts), cur_counts), abs=TOL)
    assert f["chi2_statistic"] is None and f["chi2_pvalue"] is None
    assert f["kind"] == "numeric" and f["samples"] == len(values)


def test_categorical_statistics_equal_scipy(files: dict[str, Path]) -> None:
    report = run_json(files["profile"], files["input"])
    ref = load_profile(files["profile"]).feature("color")
    assert isinstance(ref, CategoricalProfile)
    colors = current()["color"]
    # known categories in profile order, then the unseen "purple" in __other__
    cur = np.array([colors.count(c) for c in ref.categories] + [colors.count("purple")])
    table = np.array([ref.counts, cur])
    table = table[:, table.sum(axis=0) > 0]
    chi2, p, _, _ = sps.chi2_contingency(table)
    f = feature(report, "color")
    assert f["chi2_statistic"] == pytest.approx(chi2, abs=TOL)
    assert f["chi2_pvalue"] == pytest.approx(p, abs=TOL)
    assert f["psi"] == pytest.approx(_hand_psi(np.asarray(ref.counts), cur), abs=TOL)
    assert f["ks_statistic"] is None and f["wasserstein"] is None
    ref_p = np.asarray(ref.counts) / sum(ref.counts)
    cur_p = cur / cur.sum()
    assert f["jensen_shannon"] == pytest.approx(jensenshannon(ref_p, cur_p, base=2), abs=TOL)
    assert f["hellinger"] == pytest.approx(
        np.sqrt(1 - np.sum(np.sqrt(ref_p * cur_p))), abs=TOL)


def test_prediction_checked_like_a_feature(files: dict[str, Path]) -> None:
    report = run_json(files["profile"], files["input"])
    ref = load_profile(files["profile"]).prediction
    assert isinstance(ref, NumericProfile)
    values = np.asarray(current()["prediction"], dtype=float)
    f = feature(report, "__prediction__")
    ks = sps.ks_2samp(np.asarray(ref.sample), values, method="asymp")
    assert f["ks_statistic"] == pytest.approx(ks.statistic, abs=TOL)
    assert report["samples"]["__prediction__"] == len(values)
    assert report["prediction"]["mean"] == pytest.approx(values.mean(), abs=TOL)


def test_dataset_verdict_is_highest_severity_and_share(files: dict[str, Path]) -> None:
    report = run_json(files["profile"], files["input"])
    sev = {f["name"]: f["severity"] for f in report["features"]}
    # The oracle: KS / pooled chi-square p-values from scipy, PSI, its bound and noise
    # floor by hand, Holm by hand across the model, then the size rule (tests/oracle.py).
    profile = load_profile(files["profile"])
    data = current()
    judged = []
    for f in (*profile.features, profile.prediction):
        assert f is not None
        column = data["prediction" if f.name == "__prediction__" else f.name]
        if isinstance(f, CategoricalProfile):
            counts = [column.count(c) for c in f.categories] + [
                sum(v not in f.categories for v in column)]
            judged.append(categorical(f.name, f.counts, counts))
        else:
            assert isinstance(f, NumericProfile)
            judged.append(numeric(f.name, f.counts, f.edges, f.sample,
                                 np.asarray(column, dtype=float)))
    expected = verdicts(judged)
    assert sev == expected
    # x shifted by 0.6 sd, colours moved: PSI well above 0.25; y from the same law
    assert sev["x"] == "high" and sev["color"] == "high" and sev["y"] == "low"
    assert report["severity"] == max(expected.values(), key=LEVELS.index)
    drifted = sum(1 for s in expected.values() if s in ("medium", "high"))
    assert report["drift_share"] == pytest.approx(drifted / len(expected))
    assert report["model"] == "fraud" and report["version"] == "3" and report["rows"] == 1500


def test_config_thresholds_change_the_verdict(files: dict[str, Path], tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "mlmon.yaml",
                       "psi_medium: 0.000001, psi_high: 100.0, min_samples: 10")
    report = run_json(files["profile"], files["input"], "--config", str(cfg))
    # every PSI (all > 1e-6 here) is large enough for medium, none for high; only the
    # features whose shift is told apart from sampling noise are medium
    features = report["features"]
    assert all(f["psi"] > 1e-6 for f in features)
    assert {f["severity"] for f in features if f["significant"]} == {"medium"}
    assert {f["severity"] for f in features if not f["significant"]} <= {"low"}
    medium = sum(f["severity"] == "medium" for f in features)
    assert report["drift_share"] == medium / len(features) > 0
    assert report["thresholds"]["psi_high"] == 100.0


def test_below_min_samples_no_verdict(files: dict[str, Path], tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "mlmon.yaml", "min_samples: 100000")
    report = run_json(files["profile"], files["input"], "--config", str(cfg))
    assert all(f["severity"] is None and f["psi"] is None for f in report["features"])
    assert report["severity"] is None
