"""A real long-term store end to end: a sidecar fed drifting traffic, Prometheus scraping it
and remote-writing to VictoriaMetrics with the keep rules of
prometheus/prometheus.example.yml, and vmalert evaluating rules/ against a second
VictoriaMetrics to which Prometheus remote-writes every raw sample it scraped.

Checked against independent oracles: the series the store holds against what the keep
rules should keep, derived from the sidecar's own /metrics; `mlmon history` against the
store against the same report from Prometheus; the alerts vmalert sends to its
Alertmanager against those Prometheus sends to its own; every expression of rules/ in
MetricsQL against PromQL on the same samples.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from exporter.history.analysis import DOWNSAMPLED, DOWNSAMPLED_PSI
from exporter.history.promapi import PrometheusAPI
from exporter.rulegen import load_groups
from tests.e2e import vm_support as vs
from tests.e2e.loop_support import MODEL, VERSION
from tests.procs import require_binary

pytestmark = pytest.mark.e2e

DRIFT_HIGH, ACCURACY = "MlmonFeatureDriftHigh", "MlmonAccuracyBelowFloor"
NORMAL_SECONDS = 12.0
STEP = 2  # seconds between the points `mlmon history` asks for (rules run every second)
# Difference allowed between a figure from Prometheus and the same from VictoriaMetrics,
# which stores a float64 as a decimal mantissa and exponent (about 12 significant digits
# survive): relative for a value, absolute for a difference of two values (`change`) of
# PSI or accuracy, which are of order 1.
REL, ABS = 1e-11, 1e-12
BINARIES = ("prometheus", "prometheus-alertmanager", "victoria-metrics", "vmalert")
# A rule reading a recorded series (level:metric:operations) gets its input from each
# engine's own recording, evaluated at other instants: only its label sets are compared.
RECORDED = re.compile(r"\b\w+:\w+:\w+\b")
# Rules whose value MetricsQL computes otherwise on the same samples (docs/alerting.md,
# "vmalert"): rate() and increase() are extrapolated by PromQL, not by MetricsQL, and the
# ratios of rates these rules take cancel the difference only once every series is older
# than the hour. Both engines give the same series; the values agree within REL_RATE (PromQL
# extrapolates by up to half a scrape interval at each end: 1-2 % on the test's series,
# tens of seconds old; more on a counter born a few scrapes ago).
RATE_SEMANTICS = frozenset({"model_version:mlmon_roc_auc_ratio:fleet_rate1h",
                            "MlmonErrorRateShift"})
REL_RATE = 0.2


def _wait(what: str, predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout}s: {what}")


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = vs.get_json(f"{url}/api/v1/query", {"query": expr})[
        "data"]["result"]
    return result


def _alerts(alertmanager: str) -> list[dict[str, Any]]:
    """Active alerts in an Alertmanager: labels, and annotations with the numbers masked
    (values move between two evaluations; the text around them must not)."""
    return sorted(({"labels": a["labels"],
                    "annotations": {k: re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "#", v)
                                    for k, v in a["annotations"].items()}}
                   for a in vs.get_json(f"{alertmanager}/api/v2/alerts")),
                  key=lambda a: json.dumps(a, sort_keys=True))


def _names(alerts: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(a["labels"]["alertname"], a["labels"].get("feature", "")) for a in alerts}


def _history(url: str, *extra: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "exporter", "history", "--prometheus", url,
                          "--model", MODEL, "--format", "json", *extra],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    del doc["prometheus"]  # the URL asked
    return doc


def _assert_same(a: Any, b: Any, where: str = "") -> None:
    """Equal JSON documents, numbers within REL or ABS."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), where
        assert a == pytest.approx(b, rel=REL, abs=ABS), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: {a} != {b}"
        for key in a:
            _assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: {a} != {b}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_vmalert_accepts_every_rule_file() -> None:
    vmalert = require_binary("vmalert")
    files = sorted(vs.RULES_DIR.glob("*.yml"))
    assert files
    for path in files:  # one at a time, so a rejection names its file
        out = subprocess.run([vmalert, "-dryRun", f"-rule={path}", "-loggerLevel=ERROR"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"vmalert rejects {path.name}:\n{out.stderr[-3000:]}"


def test_vmalert_dry_run_rejects_a_bad_rule(tmp_path: Path) -> None:
    """The check above can fail: a rule MetricsQL cannot parse is refused."""
    vmalert = require_binary("vmalert")
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: x\n  rules:\n  - alert: A\n    expr: sum(rate(x[5m]) by\n")
    out = subprocess.run([vmalert, "-dryRun", f"-rule={bad}", "-loggerLevel=ERROR"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "bad.yml" in out.stderr


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[tuple[vs.Stack, list[dict[str, Any]]]]:
    binaries = {name: require_binary(name) for name in BINARIES}
    with vs.stack(tmp_path_factory.mktemp("victoriametrics"), binaries) as stack:
        agreed = _scenario(stack)
        yield stack, agreed
        assert stack.traffic.errors == []


@pytest.fixture
def run(started: tuple[vs.Stack, list[dict[str, Any]]]) -> vs.Stack:
    return started[0]


def _scenario(s: vs.Stack) -> list[dict[str, Any]]:
    """Normal traffic (nothing may fire on either side), then the drifted rows until both
    sides fire the same alerts; returns them."""
    _wait("fleet accuracy in Prometheus", lambda: bool(_query(
        s.prometheus, f'model_version:mlmon_accuracy_ratio:fleet_avg{{model="{MODEL}"}}')), 40)
    _wait("fleet accuracy in vmalert's VictoriaMetrics", lambda: bool(_query(
        s.victoria, f'model_version:mlmon_accuracy_ratio:fleet_avg{{model="{MODEL}"}}')), 40)
    time.sleep(NORMAL_SECONDS)
    assert (_alerts(s.am_prometheus), _alerts(s.am_vmalert)) == ([], [])
    s.traffic.drifted = True
    _wait("both alerts from Prometheus", lambda: {DRIFT_HIGH, ACCURACY} <= {
        name for name, _ in _names(_alerts(s.am_prometheus))}, 60)
    agreed: list[list[dict[str, Any]]] = []

    def same() -> bool:
        prometheus, vmalert = _alerts(s.am_prometheus), _alerts(s.am_vmalert)
        agreed[:] = [prometheus]
        return vmalert == prometheus

    _wait("the same alerts from vmalert", same, 60)
    return agreed[0]


def test_vmalert_alerts_reach_alertmanager_like_prometheus(
        started: tuple[vs.Stack, list[dict[str, Any]]]) -> None:
    # Both Alertmanagers held the same alerts, labels (cluster included) and annotation
    # text, at one moment of the drift (the fixture waited for it).
    prometheus = started[1]
    print(f"\nalerts from both: {sorted(_names(prometheus))}")
    names = _names(prometheus)
    assert {(DRIFT_HIGH, "amount"), (DRIFT_HIGH, "country"), (ACCURACY, "")} <= names
    for alert in prometheus:
        labels = alert["labels"]
        assert (labels["model"], labels["version"], labels["cluster"]) == (MODEL, VERSION,
                                                                           "example")


def test_rules_evaluate_alike_in_metricsql(run: vs.Stack) -> None:
    """Every expression of rules/ (as it is now), at one instant, over the same raw
    samples: Prometheus against vmalert's VictoriaMetrics."""
    at = float(int(time.time()) - 5) + 0.5  # between two scrapes, the samples written
    time.sleep(3)
    rules = [rule for group in load_groups(vs.RULES_DIR) for rule in group["rules"]]

    def values(url: str, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
        answer = vs.get_json(f"{url}/api/v1/query", {"query": expr, "time": repr(at)})
        return {tuple(sorted((k, v) for k, v in r["metric"].items() if k != "__name__")):
                float(r["value"][1]) for r in answer["data"]["result"]}

    compared: list[str] = []
    rate_diffs: dict[str, float] = {}
    for rule in rules:
        name = rule.get("record") or rule["alert"]
        prometheus, victoria = values(run.prometheus, rule["expr"]), values(run.victoria,
                                                                          rule["expr"])
        assert set(victoria) == set(prometheus), name
        if not prometheus or RECORDED.search(rule["expr"]):
            continue
        compared.append(name)
        for key, value in prometheus.items():
            if name in RATE_SEMANTICS:
                assert victoria[key] == pytest.approx(value, rel=REL_RATE), (name, key)
                rate_diffs[name] = max(rate_diffs.get(name, 0.0),
                                       abs(victoria[key] - value) / abs(value))
            else:
                assert victoria[key] == pytest.approx(value, rel=REL), (name, key)
    print(f"\n{len(rules)} rules, {len(compared)} compared by value: {sorted(compared)}; "
          f"rate semantics: " + ", ".join(f"{k} {v:.2%}" for k, v in rate_diffs.items()))
    assert {"model_version_feature_bucket:mlmon_feature_bucket:ratio_rate1h",
            "model_version:mlmon_accuracy_ratio:fleet_avg", DRIFT_HIGH} <= set(compared)


def test_longterm_store_holds_what_the_keep_rules_keep(run: vs.Stack) -> None:
    expected = vs.expected_series(vs.get_text(f"{run.sidecar}/metrics"), MODEL)
    assert {"mlmon_threshold", "mlmon_feature_drift_severity", DOWNSAMPLED_PSI,
            DOWNSAMPLED["accuracy"]} <= set(expected)

    def stored() -> dict[str, int]:
        count: dict[str, int] = {}
        for labels in vs.series(run.longterm, f'{{model="{MODEL}"}}', run.started):
            if labels["__name__"] != "ALERTS":
                count[labels["__name__"]] = count.get(labels["__name__"], 0) + 1
        return count

    _wait("the keep rules' series in the store", lambda: stored() == expected, 30)
    per_model = sum(expected.values())
    print(f"\nseries per model in the long-term store (without ALERTS): {per_model} "
          f"{dict(sorted(expected.items()))}")
    everything = vs.series(run.longterm, '{__name__=~".+"}', run.started)
    keep = vs.keep_pattern()
    assert {s["__name__"] for s in everything if not keep.match(s["__name__"])} == set()
    assert {s.get("cluster") for s in everything} == {"example"}  # external_labels
    sidecar_names = {s["__name__"] for s in vs.series(run.victoria, '{job="mlmon"}',
                                                      run.started)}
    assert len(sidecar_names) > 3 * len({s["__name__"] for s in everything})  # most dropped

    # The alert states Prometheus wrote reach the store too.
    ever = ('count by (alertname, feature) '
            '(max_over_time(ALERTS{alertstate="firing"}[10m]))')

    def firing(url: str) -> set[tuple[str, str]]:
        return {(r["metric"]["alertname"], r["metric"].get("feature", ""))
                for r in _query(url, ever)}

    _wait("ALERTS in the store", lambda: firing(run.longterm) == firing(run.prometheus), 30)
    assert {DRIFT_HIGH, ACCURACY} <= {name for name, _ in firing(run.longterm)}


def test_history_reads_the_same_figures_from_the_store(run: vs.Stack) -> None:
    end = float(int(time.time()) - 3)
    start = float(int(run.started) + 5)  # whole seconds: no rounding of the query times
    api_p, api_v = PrometheusAPI(run.prometheus), PrometheusAPI(run.longterm)
    expr = f'{{__name__=~"{DOWNSAMPLED_PSI}|{DOWNSAMPLED["accuracy"]}"}}'

    def last(api: PrometheusAPI) -> float:
        found = api.query(f"min(timestamp({expr}))", end)
        return found[0][1] if found else 0.0

    # Prometheus sends in batches; wait until the store has every series up to `end`.
    _wait("the store caught up", lambda: last(api_v) >= last(api_p) > end - 2, 30)
    range_ = f"{int(end - start)}s"
    args = ("--range", range_, "--step", f"{STEP}s", "--end", repr(end))
    from_prometheus = _history(run.prometheus, "--series", "downsampled", *args)
    from_store = _history(run.longterm, "--series", "downsampled", *args)
    _assert_same(from_store, from_prometheus)
    assert _history(run.longterm, *args) == from_store  # auto: the store has no raw series
    assert _history(run.prometheus, *args)["series"] == "raw"
    assert from_store["series"] == "downsampled"

    # Not trivially equal: the hourly average (here: since the start) of the drifted
    # features rose past medium within the range, and accuracy fell.
    drift = {d["name"]: d for d in from_store["drift"]}
    for feature in ("amount", "country"):
        assert drift[feature]["first_crossed"]["medium"] is not None, drift[feature]
        assert drift[feature]["change"] > 0.05, drift[feature]
    (accuracy,) = from_store["performance"]
    assert accuracy["name"] == "accuracy" and accuracy["change"] < -0.01

    # Point by point, the series the reports rest on.
    # (the store's copies carry the external label `cluster` as well)
    (p_series, v_series) = (
        {tuple(sorted((k, v) for k, v in s.labels.items() if k != "cluster")): s
         for s in api.query_range(expr, start, end, STEP)}
        for api in (api_p, api_v))
    assert set(p_series) == set(v_series) and len(p_series) == len(drift) + 1
    worst = 0.0
    for key, p in p_series.items():
        v = v_series[key]
        assert list(v.t) == list(p.t), key
        assert list(v.y) == pytest.approx(list(p.y), rel=REL), key
        worst = max([worst, *(abs(a - b) / abs(b) for a, b in zip(v.y, p.y, strict=True) if b)])
    print(f"\nhistory over {range_} at step {STEP}s: {len(drift)} features + accuracy, "
          f"{sum(len(p.t) for p in p_series.values())} points, largest relative "
          f"difference Prometheus vs VictoriaMetrics {worst:.2g}")
