"""Every query of grafana/mlmon.json, run against a real Prometheus scraping a real sidecar.

The sidecar serves both bundled examples (a classifier and a regressor) and is fed their
drifted `current.csv` over POST /v1/events, with labels and some bad lines; Prometheus
scrapes it every second with the labels a PodMonitor would add and loads rules/, so the
recording rules exist. Each panel query, with the dashboard variables substituted as
Grafana would, must return a non-empty result (a classifier-only panel for the classifier,
a regressor-only panel for the regressor).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.rulegen import rule_files
from tests.deploy import grafana
from tests.deploy.promql import analyse
from tests.e2e.grafana_traffic import BAD_LINES, combined_config, events
from tests.procs import post_events, require_binary, serving

pytestmark = pytest.mark.e2e

NAMESPACE = "mlmon-e2e"
JOB = f"{NAMESPACE}/mlmon"  # what a PodMonitor named mlmon produces
MODELS = {"fraud": "3", "housing": "1"}
CLASSIFIER_ONLY = {"mlmon_accuracy_ratio", "mlmon_precision_ratio", "mlmon_recall_ratio",
                   "mlmon_f1_ratio", "mlmon_prediction_class_ratio"}
# CBPE estimates: classifiers only (the fraud example's profile carries a calibration map)
CLASSIFIER_ONLY |= {"mlmon_estimated_accuracy_ratio", "mlmon_estimated_precision_ratio",
                    "mlmon_estimated_recall_ratio", "mlmon_estimated_f1_ratio"}
# Ranking and calibration: classifiers with scores or probabilities only
CLASSIFIER_ONLY |= {"mlmon_roc_auc_ratio", "mlmon_brier_score",
                    "mlmon_expected_calibration_error_ratio",
                    "model_version:mlmon_roc_auc_ratio:fleet_rate1h"}
REGRESSOR_ONLY = {"mlmon_regression_mae", "mlmon_regression_rmse", "mlmon_regression_r2"}
# per segment value (the examples' configs have `segment:`): accuracy or MAE by model kind
CLASSIFIER_ONLY |= {"mlmon_segment_accuracy_ratio"}
REGRESSOR_ONLY |= {"mlmon_segment_regression_mae"}
# Grafana's built-ins as it would set them for a 1 s scrape interval and a 5 min range.
BUILTINS = {"$__rate_interval": "15s", "$__range": "5m", "$__interval": "1s"}


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _query(base: str, expr: str) -> dict[str, Any]:
    result: dict[str, Any] = _get(f"{base}/api/v1/query?" +
                                  urllib.parse.urlencode({"query": expr}))
    return result


def _wait_for(base: str, exprs: list[str], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    missing = list(exprs)
    while missing and time.monotonic() < deadline:
        missing = [e for e in missing if not _query(base, e)["data"]["result"]]
        if missing:
            time.sleep(0.5)
    assert not missing, f"Prometheus never returned data for {missing}"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_binary("prometheus")
    tmp = tmp_path_factory.mktemp("grafana-e2e")
    config = combined_config(tmp / "mlmon.yaml")
    env = {**os.environ, "MLMON_COMPUTE_INTERVAL": "1s"}
    sidecar_argv = [sys.executable, "-m", "exporter", "serve", "--config", str(config),
                    "--socket", str(tmp / "mlmon.sock"), "--http", "127.0.0.1:0",
                    "--state-file", str(tmp / "state.json")]
    # Both listen on port 0 and announce the port they bound (tests/procs.py serving).
    with serving(sidecar_argv, tmp / "sidecar.log", "/readyz", 60.0, env=env) as served, \
            _prometheus(binary, tmp, served.address["http"]) as base:
        sidecar = served.url
        _wait_for(base, [f'up{{job="{JOB}"}} == 1'])
        # Three batches a second apart, so rates see traffic over more than one scrape.
        batches: list[list[str]] = [[], [], []]
        for model, rows in (("fraud", 900), ("housing", 450)):
            predictions, labels = events(model, rows)
            third = len(predictions) // 3
            for i in range(3):
                part = slice(i * third, None if i == 2 else (i + 1) * third)
                batches[i] += predictions[part] + labels[part]
        batches[1] += BAD_LINES
        for batch in batches:
            code, answer = post_events(f"{sidecar}/v1/events", batch)
            assert code == 202 and answer["accepted"] > 0
            time.sleep(1.0)
        _wait_for(base, [
            'mlmon_feature_psi{model="fraud"}', 'mlmon_feature_psi{model="housing"}',
            "mlmon_accuracy_ratio", "mlmon_regression_mae",
            'model_version_feature:mlmon_feature_psi:fleet_rate1h{model="fraud"}',
            'model_version_feature:mlmon_feature_psi:fleet_rate1h{model="housing"}'])
        yield base


@contextlib.contextmanager
def _prometheus(binary: str, tmp: Path, sidecar: str) -> Iterator[str]:
    """Prometheus scraping ``sidecar`` (HOST:PORT) with rules/; yield its base URL."""
    rules = [str(p) for p in rule_files(grafana.ROOT / "rules")]
    (tmp / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": rules,
        "scrape_configs": [{
            "job_name": JOB,
            "static_configs": [{
                "targets": [sidecar],
                "labels": {"namespace": NAMESPACE, "pod": "fraud-model-0",
                           "container": "mlmon", "endpoint": "mlmon-metrics"}}]}]}))
    prometheus_argv = [binary, f"--config.file={tmp / 'prometheus.yml'}",
                       f"--storage.tsdb.path={tmp / 'tsdb'}", "--web.listen-address=127.0.0.1:0"]
    with serving(prometheus_argv, tmp / "prometheus.log", "/-/ready", 60.0) as prometheus:
        yield prometheus.url


def _substitute(expr: str, model: str, feature: str) -> str:
    values = {"$namespace": NAMESPACE, "$model": model, "$version": MODELS[model],
              "$feature": feature, "$segment": ".*", **BUILTINS}
    for name in sorted(values, key=len, reverse=True):  # $__rate_interval before $__range
        expr = expr.replace(name, values[name])
    assert "$" not in expr, expr
    return expr


def _panel_metrics(panel: grafana.Panel) -> set[str]:
    return {s.metric for t in panel["targets"] for s in analyse(t["expr"]).selectors}


@pytest.mark.parametrize("model, feature", [
    ("fraud", "(amount|country|__prediction__)"),  # a multi-value selection
    ("housing", ".*"),  # "All"
])
def test_every_panel_query_returns_data(prometheus: str, model: str, feature: str) -> None:
    dashboard = grafana.load()
    skip = REGRESSOR_ONLY if model == "fraud" else CLASSIFIER_ONLY
    empty: list[str] = []
    ran = 0
    for panel in grafana.panels(dashboard):
        if _panel_metrics(panel) & skip:
            continue
        for target in panel["targets"]:
            expr = _substitute(target["expr"], model, feature)
            answer = _query(prometheus, expr)
            assert answer["status"] == "success", (panel["title"], expr, answer)
            ran += 1
            if not answer["data"]["result"]:
                empty.append(f"{panel['title']} [{target['refId']}]: {expr}")
    assert not empty, "queries without data:\n" + "\n".join(empty)
    assert ran >= 40


def test_panels_kept_for_one_model_kind_have_data_for_it(prometheus: str) -> None:
    """The classifier-only and regressor-only panels exist and answer for their kind."""
    panels = list(grafana.panels(grafana.load()))
    assert any(_panel_metrics(p) & CLASSIFIER_ONLY for p in panels)
    assert any(_panel_metrics(p) & REGRESSOR_ONLY for p in panels)


def test_psi_panel_shows_the_injected_drift(prometheus: str) -> None:
    """The PSI panel's query sees amount and country above the high threshold line."""
    (panel,) = [p for p in grafana.panels(grafana.load()) if p["title"] == "PSI per feature"]
    psi = _query(prometheus, _substitute(panel["targets"][0]["expr"], "fraud", ".*"))
    by_feature = {r["metric"]["feature"]: float(r["value"][1]) for r in psi["data"]["result"]}
    high = _query(prometheus, _substitute(panel["targets"][2]["expr"], "fraud", ".*"))
    line = float(high["data"]["result"][0]["value"][1])
    # exporter/data/examples/README.md: amount 0.77, country 1.68; the others <= 0.004
    # on the full file (a 900-row window adds sampling noise well below the line).
    assert by_feature["amount"] > line and by_feature["country"] > line
    assert by_feature["age"] < line and by_feature["channel"] < line


def test_variable_queries_list_the_running_models(prometheus: str) -> None:
    variables = {v["name"]: v for v in grafana.load()["templating"]["list"]}
    expected = {"namespace": {NAMESPACE}, "model": set(MODELS), "version": {"3"},
                "feature": {"amount", "country", "__prediction__"}}
    for name, wanted in expected.items():
        definition = variables[name]["definition"]
        inner = definition.removeprefix("label_values(").removesuffix(f", {name})")
        selector = _substitute(inner, "fraud", ".*")
        url = f"{prometheus}/api/v1/series?" + urllib.parse.urlencode({"match[]": selector})
        values = {s[name] for s in _get(url)["data"] if name in s}
        assert wanted <= values, (name, values)


def test_auc_panel_equals_scipy_and_the_binned_fleet_formula(prometheus: str) -> None:
    """The AUC panel: per pod = Mann-Whitney U/(n1 n0) of the 900 fed rows (scipy); fleet
    (recording rule) = the 50-bin AUC of the same rows (numpy), within its bin bound."""
    import numpy as np
    from scipy.stats import mannwhitneyu

    from tests.paths import EXAMPLES

    with (EXAMPLES / "fraud" / "current.csv").open(newline="") as handle:
        rows = [r for _, r in zip(range(900), csv.DictReader(handle), strict=False)]
    s = np.array([float(r["prediction"]) for r in rows])
    y = np.array([r["label"] == "1" for r in rows])
    exact = float(mannwhitneyu(s[y], s[~y]).statistic) / (y.sum() * (~y).sum())
    edges = np.arange(51) / 50
    pos, neg = np.histogram(s[y], bins=edges)[0], np.histogram(s[~y], bins=edges)[0]
    above = np.array([pos[b + 1:].sum() for b in range(50)])
    binned = float(np.sum(neg * (above + 0.5 * pos)) / (pos.sum() * neg.sum()))
    bound = float(np.sum(pos * neg) / (2.0 * pos.sum() * neg.sum()))
    (panel,) = [p for p in grafana.panels(grafana.load())
                if p["title"] == "ROC AUC (per pod and fleet)"]
    # The fixture waits for other series, not for the last batch's labels to be scraped
    # and the rule evaluated after it: wait until the counters hold every fed label, then
    # give the 1 s rule and compute a few cycles (a deadline, not a fixed sleep).
    _wait_for(prometheus, [f'sum(mlmon_score_bucket_total{{model="fraud"}}) == {y.size}'])
    deadline = time.monotonic() + 30.0
    while True:
        pod, fleet = (_query(prometheus, _substitute(t["expr"], "fraud", ".*"))["data"]["result"]
                      for t in panel["targets"])
        # both: the pod value comes from the sidecar's snapshot (1 s compute), which can
        # lag the scraped counters by a cycle
        settled = (len(pod) == 1 and abs(float(pod[0]["value"][1]) - exact) <= 1e-12
                   and len(fleet) == 1 and abs(float(fleet[0]["value"][1]) - binned) <= 1e-9)
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(pod) == 1 and len(fleet) == 1
    assert abs(float(pod[0]["value"][1]) - exact) <= 1e-12
    assert abs(float(fleet[0]["value"][1]) - binned) <= 1e-9
    assert abs(binned - exact) <= bound
    print(f"fraud, 900 rows: pod AUC {float(pod[0]['value'][1]):.12f} (scipy {exact:.12f}); "
          f"fleet {float(fleet[0]['value'][1]):.12f} (numpy 50-bin {binned:.12f}, "
          f"bound {bound:.1e})")


def test_data_quality_panels_equal_pandas(prometheus: str) -> None:
    """The data-quality row: each feature's ratio (the 900 fed fraud rows are all in the
    window) and limit equal pandas over current.csv against reference.csv, cells read as
    the feed sends them (``csv_cell``: empty or "nan" is missing)."""
    import pandas as pd

    from tests.e2e.grafana_traffic import csv_cell
    from tests.paths import EXAMPLES

    def read(name: str, rows: int | None = None) -> pd.DataFrame:
        raw = pd.read_csv(EXAMPLES / "fraud" / name, dtype=str, keep_default_na=False,
                          nrows=rows)
        return raw.map(csv_cell)

    ref, cur = read("reference.csv"), read("current.csv", 900)
    numeric = ["amount", "age", "tenure_days", "hour", "distance_km", "balance"]
    categorical = ["country", "channel"]

    def outside(f: str) -> float:
        x, r = cur[f].dropna().astype(float), ref[f].dropna().astype(float)
        return float(((x < r.min()) | (x > r.max())).mean())

    want = {
        "Missing ratio per feature": {f: float(cur[f].isna().mean())
                                      for f in [*numeric, *categorical]},
        "Out-of-range ratio (numeric features)": {f: outside(f) for f in numeric},
        "Unseen-category ratio (categorical features)": {
            f: float((~cur[f].dropna().astype(str).isin(set(ref[f].dropna().astype(str))))
                     .mean()) for f in categorical},
    }
    limits = {  # the reference's own ratio + the default limit (no __other__ in fraud)
        "Missing ratio per feature": {f: float(ref[f].isna().mean()) + 0.05
                                      for f in [*numeric, *categorical]},
        "Out-of-range ratio (numeric features)": dict.fromkeys(numeric, 0.01),
        "Unseen-category ratio (categorical features)": dict.fromkeys(categorical, 0.01)}
    assert want["Out-of-range ratio (numeric features)"]["balance"] > 0
    assert want["Missing ratio per feature"]["amount"] > 0
    panels = {p["title"]: p for p in grafana.panels(grafana.load()) if p["title"] in want}
    assert set(panels) == set(want)
    for title, expected in want.items():
        ratio, limit = ({r["metric"]["feature"]: float(r["value"][1]) for r in
                         _query(prometheus, _substitute(t["expr"], "fraud", ".*"))["data"][
                             "result"]} for t in panels[title]["targets"])
        print(f"{title}: {ratio}; limits {limit}")
        assert ratio.keys() == expected.keys() == limit.keys()
        for feature, value in expected.items():
            assert abs(ratio[feature] - value) <= 1e-12, (title, feature, ratio[feature], value)
            assert abs(limit[feature] - limits[title][feature]) <= 1e-12, (title, feature)
