"""A batch beyond the sample cap: bin counts, PSI, missing counts and the prediction's
mean and std exact over every row; KS, Wasserstein and quantiles those of the bottom-k
sample, recomputed here from the hash rule and checked against scipy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from exporter.batch import column, html, text
from exporter.batch.column import NumericColumn
from exporter.batch.jsonout import report_dict
from exporter.batch.report import BatchReport
from exporter.batch.run import BatchOptions, run_batch
from exporter.batch.sampled import sampled_drift
from exporter.profile.model import numeric_reference
from exporter.stats.drift import numeric_drift
from exporter.stats.psi import EPSILON
from exporter.stats.thresholds import Thresholds
from tests.batch.test_column import bottom_k_rows
from tests.factories import current, make_profile, reference, write_csv

CAP = 300
ROWS = 2500


def _psi(ref: np.ndarray, cur: np.ndarray) -> float:
    r = np.maximum(ref / ref.sum(), EPSILON)
    c = np.maximum(cur / cur.sum(), EPSILON)
    r, c = r / r.sum(), c / c.sum()
    return float(np.sum((c - r) * np.log(c / r)))


def _data() -> dict[str, list[Any]]:
    data = current(ROWS)
    x = list(data["x"])
    for i in range(0, ROWS, 13):
        x[i] = None  # missing
    data["x"] = x
    return data


def _run(path: Path, chunk_rows: int) -> BatchReport:
    profile = make_profile(reference())
    return run_batch(profile, None, BatchOptions(path, "prediction", "label", False,
                                                 chunk_rows=chunk_rows), Thresholds())


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(column, "SAMPLE_CAP", CAP)


@pytest.mark.usefixtures("capped")
def test_exact_counts_and_moments_and_ks_on_the_hashed_sample(tmp_path: Path) -> None:
    data = _data()
    path = write_csv(tmp_path / "big.csv", data)
    report = _run(path, chunk_rows=97)
    profile = make_profile(reference())
    ref = numeric_reference(profile.features[0])
    x = np.array([np.nan if v is None else v for v in data["x"]], dtype=np.float64)
    finite = x[~np.isnan(x)]
    result = report.features[0]
    d = result.drift
    expected = np.bincount(np.searchsorted(ref.edges, finite, side="right"),
                           minlength=len(ref.edges) + 1)
    assert d.current_counts.tolist() == expected.tolist()
    assert d.samples == finite.size and result.missing == x.size - finite.size
    assert d.psi == pytest.approx(_psi(ref.counts.astype(float), expected.astype(float)),
                                  rel=1e-12)
    sample = x[bottom_k_rows(x, CAP)]
    ks = sps.ks_2samp(ref.sample_sorted, sample, method="asymp")
    assert d.ks_statistic == pytest.approx(ks.statistic, rel=1e-12)
    assert d.ks_pvalue == pytest.approx(ks.pvalue, rel=1e-9)
    assert d.wasserstein == pytest.approx(sps.wasserstein_distance(ref.sample_sorted, sample),
                                          rel=1e-9)
    assert result.ks_sample == CAP

    p = np.asarray(data["prediction"], dtype=np.float64)
    summary = report.prediction.summary
    assert summary is not None and summary.count == ROWS
    assert summary.mean == pytest.approx(np.mean(p), rel=1e-13)
    assert summary.std == pytest.approx(np.std(p), rel=1e-10)
    assert (summary.min, summary.max) == (p.min(), p.max())
    qs = np.quantile(p[bottom_k_rows(p, CAP)], [q for q, _ in summary.quantiles])
    assert [v for _, v in summary.quantiles] == pytest.approx(qs.tolist(), rel=1e-15)
    assert report.prediction.quantile_sample == CAP

    color = report.features[2]  # categorical: counted exactly as always
    assert int(color.drift.current_counts.sum()) == ROWS


@pytest.mark.usefixtures("capped")
def test_the_sample_does_not_depend_on_the_chunking(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "big.csv", _data())
    a, b = (report_dict(_run(path, chunk_rows=n)) for n in (61, 5000))
    # the streamed sums (mean, std, log loss) may round differently: the rest is equal
    assert a["features"] == b["features"] and a["samples"] == b["samples"]
    pa, pb = a["prediction"], b["prediction"]
    assert pa["quantiles"] == pb["quantiles"] and pa["count"] == pb["count"]
    assert (pa["mean"], pa["std"]) == pytest.approx((pb["mean"], pb["std"]), rel=1e-14)
    assert a["performance"]["log_loss"] == pytest.approx(b["performance"]["log_loss"],
                                                         rel=1e-14)
    assert a["performance"]["classes"] == b["performance"]["classes"]
    assert [f.get("ks_sample") for f in a["features"]] == [CAP, CAP, None, CAP]
    assert a["prediction"]["quantile_sample"] == CAP
    # the text report says which features were sampled, and how many values
    line = [ln for ln in text.render(_run(path, chunk_rows=61)).splitlines()
            if ln.startswith("ks and wasserstein from a uniform sample")]
    sampled = [f"{f['name']} ({CAP:,})" for f in a["features"] if f.get("ks_sample")]
    assert len(line) == 1 and line[0].endswith(": " + ", ".join(sampled))
    # and so does the HTML report, under the feature table
    page = html.render(_run(path, chunk_rows=61))
    assert f'<p class="sampled">{line[0]}</p>' in page
    assert page.index('class="sampled"') > page.index("<h2>Features</h2>")


def test_within_the_cap_no_sample_is_reported(tmp_path: Path) -> None:
    result = _run(write_csv(tmp_path / "b.csv", current(500)), chunk_rows=97)
    assert "uniform sample" not in text.render(result)
    assert "uniform sample" not in html.render(result)
    report = report_dict(result)
    assert all("ks_sample" not in f for f in report["features"])
    assert "quantile_sample" not in report["prediction"]


def test_a_sample_of_every_value_judges_as_numeric_drift() -> None:
    """The verdict composed for a sample is numeric_drift's when the sample is everything."""
    profile = make_profile(reference())
    ref = numeric_reference(profile.features[0])
    for shift in (0.0, 0.1, 0.6):
        x = np.asarray(current(3000, shift=shift)["x"], dtype=np.float64)
        counts = np.bincount(np.searchsorted(ref.edges, x, side="right"),
                             minlength=len(ref.edges) + 1)
        col = NumericColumn(x, x.size, 0, True, counts, float(np.mean(x)), float(np.std(x)),
                            float(x.min()), float(x.max()))
        for t in (Thresholds(), Thresholds(min_samples=5000)):
            assert _same(sampled_drift("x", ref, col, t), numeric_drift("x", ref, x, t))


def _same(a: Any, b: Any) -> bool:
    da, db = vars(a), vars(b)
    return da.keys() == db.keys() and all(
        np.array_equal(da[k], db[k]) if isinstance(da[k], np.ndarray) else da[k] == db[k]
        for k in da)
