from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.demo.summary import TIMELINE_LINES, Rates, fmt_pvalue, format_summary, format_timeline
from exporter.sidecar.runtime import Sidecar
from tests.factories import config, fraud_events, fraud_model, fraud_profile
from tests.procs import post_events
from tests.sidecar.threaded import ndjson, running


def _feature(name: str, kind: str, psi: float | None, ks: float | None, chi2: float | None,
             severity: str | None, samples: int = 3000, floor: float | None = None,
             significant: bool | None = None, upper: float | None = None) -> dict[str, Any]:
    pvalue = ks if ks is not None else chi2
    return {"name": name, "kind": kind, "samples": samples, "psi": psi, "ks_pvalue": ks,
            "chi2_pvalue": chi2, "pvalue": pvalue, "alpha": None if pvalue is None else 0.01,
            "psi_upper_bound": upper, "psi_noise_floor": floor, "significant": significant,
            "severity": severity}


STATUS: dict[str, Any] = {
    "version": "0.1.0", "uptime_seconds": 30.0,
    "models": [{
        "model": "fraud", "version": "3", "window_size": 5000, "window_samples": 4000,
        "window_fill": 0.8, "last_compute": 1000.0, "predictions_total": 6000,
        "labels_joined": 5500, "severity": "high", "drift_share": 0.25,
        "features": [
            _feature("age", "numeric", 0.0012, 0.93, None, "low", floor=0.0071,
                     significant=False, upper=0.0064),
            _feature("amount", "numeric", 0.41, 1e-30, None, "high", floor=0.0071,
                     significant=True, upper=0.5210),
            _feature("country", "categorical", 0.07, None, 0.0021, "medium", floor=0.0042,
                     significant=True, upper=0.1130),
            _feature("late", "numeric", None, None, None, None, samples=10),
        ],
        "prediction": _feature("__prediction__", "numeric", 0.052, 0.0003, None, "low",
                               floor=0.0071, significant=False, upper=0.0912),
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
            ("age", "amount", "country", "late", "__prediction__")]
    # the features most drifted first, then the prediction (it counts in the drift share)
    assert [r[0] for r in rows] == ["amount", "country", "age", "late", "__prediction__"]
    header = next(ln for ln in lines if ln.lstrip().startswith("feature")).split()
    assert header == ["feature", "kind", "samples", "PSI", "upper", "floor", "test", "p",
                      "signif", "severity"]
    assert rows[0] == ["amount", "numeric", "3000", "0.410", "0.521", "0.007", "<1e-4", "yes",
                       "HIGH", "!"]
    assert rows[1] == ["country", "categorical", "3000", "0.070", "0.113", "0.004", "0.0021",
                       "yes", "MEDIUM"]
    assert rows[2] == ["age", "numeric", "3000", "0.001", "0.006", "0.007", "0.9300", "no",
                       "low"]
    assert rows[3] == ["late", "numeric", "10", "—", "—", "—", "—", "—", "—"]
    assert rows[4] == ["__prediction__", "numeric", "3000", "0.052", "0.091", "0.007",
                       "0.0003", "no", "low"]


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
                         "drift_share": None, "features": [], "prediction": None,
                         "performance": {}}],
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


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return str(resp.read().decode())


def test_prediction_row_from_a_real_sidecar(tmp_path: Path) -> None:
    """The demo's table, from a real sidecar's /v1/status, has the prediction's row with
    the values /metrics exports; the drift share it prints counts that row."""
    fraud = fraud_model(window=500, min_samples=100)
    events = fraud_events(500, shift=1.0)
    for i, e in enumerate(events):  # the scores drift too: mostly high
        e["prediction"] = round(0.6 + 0.39 * ((i * 37) % 100) / 100, 4)
    with running(Sidecar(config(fraud, tmp=tmp_path), {fraud.key: fraud_profile(fraud)})) as r:
        assert post_events(f"{r.http}/v1/events", ndjson(events))[0] == 202
        r.settle(len(events))
        r.compute()
        status = json.loads(_get(f"{r.http}/v1/status"))
        exposition = _get(f"{r.http}/metrics")
    exported = {(s.name, s.labels["feature"]): s.value for fam in parse_text(exposition)
                for s in fam.samples if "feature" in s.labels}
    text = format_summary(status, RATES, now=status["models"][0]["last_compute"], urls={})
    rows = {ln.split()[0]: ln.split() for ln in text.splitlines()
            if ln.startswith("  ") and ln.split()[0] in ("amount", "age", "country",
                                                         "__prediction__")}
    pred = rows["__prediction__"]
    name = "__prediction__"
    assert pred[:3] == ["__prediction__", "numeric", "500"]
    assert pred[3] == f"{exported[('mlmon_feature_psi', name)]:.3f}"
    assert pred[4] == f"{exported[('mlmon_feature_psi_upper_bound', name)]:.3f}"
    assert pred[5] == f"{exported[('mlmon_feature_psi_noise_floor', name)]:.3f}"
    assert pred[6] == fmt_pvalue(exported[("mlmon_feature_drift_pvalue", name)])
    assert exported[("mlmon_feature_drift_significant", name)] == 1.0 and pred[7] == "yes"
    assert exported[("mlmon_feature_drift_severity", name)] == 2.0 and pred[8:] == ["HIGH", "!"]
    # amount and the prediction flagged of four rows with a verdict (age, country as sent)
    flagged = sum(rows[n][8] in ("MEDIUM", "HIGH") for n in rows)
    share = status["models"][0]["drift_share"]
    assert share == flagged / 4 and f"drift share {share:.2f}" in text


def _model(computed: float | None, est: float | None, real: float | None) -> dict[str, Any]:
    return {"model": "fraud", "version": "3", "last_compute": computed,
            "estimate": None if est is None else {"accuracy": est, "samples": 5000},
            "estimate_basis": "calibrated on 20000 reference rows",
            "performance": {} if real is None else {"accuracy": real}}


def test_floor_watch_times_both_crossings_from_the_drift_start() -> None:
    from exporter.demo.summary import FloorWatch

    watch = FloorWatch(0.8)
    assert watch.update(_model(990.0, 0.70, 0.70)) == []  # no drift yet: nothing counts
    assert "estimate below — (no drift yet)" in watch.describe()
    watch.drift_started = 1000.0
    assert watch.update(_model(999.0, 0.70, 0.70)) == []  # computed before the drift
    assert watch.update(_model(1004.0, 0.85, 0.96)) == []
    assert watch.update(_model(1009.0, 0.79, None)) == [
        "estimated accuracy 0.790 fell below the floor 0.8 9s after drift started "
        "(calibrated on 20000 reference rows); realized accuracy still 0.960"]
    assert watch.update(_model(1010.0, 0.78, 0.90)) == []  # each crossing is told once
    assert watch.describe() == (
        "  accuracy floor 0.8: estimate below 9s after drift started, realized below not "
        "yet  (estimate calibrated on 20000 reference rows)")
    assert watch.update(_model(1031.0, 0.77, 0.7999)) == [
        "realized accuracy 0.800 fell below the floor 0.8 31s after drift started, "
        "22s after the estimate"]
    assert watch.describe().startswith(
        "  accuracy floor 0.8: estimate below 9s after drift started, realized below 31s "
        "after drift started")
    assert watch.update(None) == []


def test_the_floor_line_follows_the_models_in_the_summary() -> None:
    text = format_summary(STATUS, RATES, now=1002.0, urls={"metrics": "http://m"},
                          extra=["  accuracy floor 0.8: ..."])
    lines = text.splitlines()
    assert lines[-2:] == ["  accuracy floor 0.8: ...", "metrics: http://m"]


def test_the_timeline_follows_the_urls_in_order_with_the_count_left_out() -> None:
    """Issue 16 item 6: a summary that clears the screen redraws the timeline under it."""
    events = [f"12:00:{i:02d} event {i}" for i in range(15)]
    text = format_summary(STATUS, RATES, now=1002.0, urls={"metrics": "http://m"},
                          timeline=events, earlier=4)
    lines = text.splitlines()
    at = lines.index("metrics: http://m")
    # 4 dropped before, 15 given, the last 12 shown (TIMELINE_LINES): 4 + 3 left out.
    assert TIMELINE_LINES == 12
    assert lines[at + 1:] == ["timeline:", "  … 7 earlier",
                              *(f"  12:00:{i:02d} event {i}" for i in range(3, 15))]


def test_a_short_timeline_is_shown_whole_and_none_is_not_shown() -> None:
    assert format_timeline(["a", "b"], limit=3) == ["timeline:", "  a", "  b"]
    assert format_timeline([], limit=3) == []
    assert format_timeline([], limit=3, earlier=2) == ["timeline:", "  … 2 earlier"]
    assert format_timeline(["a", "b", "c"], limit=0) == ["timeline:", "  … 3 earlier"]
    text = format_summary(STATUS, RATES, now=1002.0, urls={"metrics": "http://m"})
    assert text.endswith("metrics: http://m\n") and "timeline" not in text
