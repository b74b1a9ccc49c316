from __future__ import annotations

from typing import Any

from exporter.demo.summary import Rates, fmt_pvalue, format_summary


def _feature(name: str, kind: str, psi: float | None, ks: float | None, chi2: float | None,
             severity: str | None, samples: int = 3000) -> dict[str, Any]:
    return {"name": name, "kind": kind, "samples": samples, "psi": psi, "ks_pvalue": ks,
            "chi2_pvalue": chi2, "severity": severity}


STATUS: dict[str, Any] = {
    "version": "0.1.0", "uptime_seconds": 30.0,
    "models": [{
        "model": "fraud", "version": "3", "window_size": 5000, "window_samples": 4000,
        "window_fill": 0.8, "last_compute": 1000.0, "predictions_total": 6000,
        "labels_joined": 5500, "severity": "high", "drift_share": 0.25,
        "features": [
            _feature("age", "numeric", 0.0012, 0.93, None, "low"),
            _feature("amount", "numeric", 0.41, 1e-30, None, "high"),
            _feature("country", "categorical", 0.17, None, 0.0021, "medium"),
            _feature("late", "numeric", None, None, None, None, samples=10),
        ],
        "top_drifted": ["amount", "country", "age"],
        "performance": {"samples": 5400, "accuracy": 0.8123, "macro_f1": 0.5,
                        "log_loss": None},
    }],
    "events": {"received": {"unix": 11000}, "rejected": {"bad_type": 2, "queue_full": 1}},
}

RATES = Rates(elapsed=30.4, sent_per_s=200.0, accepted_per_s=199.6, client_dropped=3,
              drift="ON since 8s: amount ×2.2")


def test_feature_rows_most_drifted_first_with_their_values() -> None:
    text = format_summary(STATUS, RATES, now=1002.0,
                          urls={"metrics": "http://127.0.0.1:9847/metrics"})
    lines = text.splitlines()
    rows = [ln.split() for ln in lines if ln.startswith("  ") and ln.split()[0] in
            ("age", "amount", "country", "late")]
    assert [r[0] for r in rows] == ["amount", "country", "age", "late"]
    assert rows[0] == ["amount", "numeric", "3000", "0.410", "<1e-4", "—", "HIGH", "!"]
    assert rows[1] == ["country", "categorical", "3000", "0.170", "—", "0.0021", "MEDIUM"]
    assert rows[2] == ["age", "numeric", "3000", "0.001", "0.9300", "—", "low"]
    assert rows[3] == ["late", "numeric", "10", "—", "—", "—", "—"]


def test_header_rates_performance_and_urls() -> None:
    text = format_summary(STATUS, RATES, now=1002.0,
                          urls={"metrics": "http://127.0.0.1:9847/metrics"})
    assert "t=30s" in text and "drift: ON since 8s: amount ×2.2" in text
    assert "sent 200, accepted by sidecar 200; client drops 3; rejected 3" in text
    assert "window 4000/5000 (80%)" in text and "severity HIGH" in text
    assert "drift share 0.25" in text and "computed 2s ago" in text
    assert "performance: accuracy 0.812, macro f1 0.500  (n=5400)" in text
    assert "log loss" not in text  # None: not shown
    assert text.endswith("metrics: http://127.0.0.1:9847/metrics\n")


def test_before_first_compute_and_without_sidecar() -> None:
    fresh = {"models": [{**STATUS["models"][0], "last_compute": None, "severity": None,
                         "drift_share": None, "features": [], "performance": {}}],
             "events": {"rejected": {}}}
    text = format_summary(fresh, RATES, now=0.0, urls={})
    assert "computed not yet" in text and "severity —" in text
    assert "performance: waiting for labels" in text
    down = format_summary(None, Rates(5.0, 100.0, None, 0, "off"), now=0.0, urls={})
    assert "no answer from /v1/status" in down and "accepted by sidecar —" in down


def test_long_names_keep_columns_and_large_errors_read_well() -> None:
    model = {**STATUS["models"][0],
             "features": [_feature("distance_center_km", "numeric", 0.004, 0.39, None, "low")],
             "performance": {"samples": 10, "mae": 154758.698, "r2": -0.5}}
    text = format_summary({"models": [model], "events": {}}, RATES, now=1000.0, urls={})
    header = next(ln for ln in text.splitlines() if ln.lstrip().startswith("feature"))
    row = next(ln for ln in text.splitlines() if "distance_center_km" in ln)
    assert row.index("numeric") == header.index("kind")
    assert "mae 154,759" in text and "r2 -0.500" in text


def test_pvalue_format() -> None:
    assert [fmt_pvalue(v) for v in (None, 0.0, 9.9e-5, 1e-4, 0.5)] == \
        ["—", "<1e-4", "<1e-4", "0.0001", "0.5000"]
