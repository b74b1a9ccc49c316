"""k8s/rollouts: the Argo Rollouts AnalysisTemplates, checked against their CRD schema and
run, with arguments substituted, against a real Prometheus holding canary and stable pods."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from exporter.stats.thresholds import Thresholds
from tests.deploy import canary_data as data
from tests.deploy import k8s
from tests.deploy.k8s import Obj, one
from tests.procs import require_binary, serving
from tests.rules.rule_files import metric_names, records

ROLLOUTS = k8s.K8S / "rollouts"
ARG = re.compile(r"\{\{\s*args\.([\w-]+)\s*\}\}")
# What the rollout passes per template in this test (thresholds as a user would set them).
ARGS = {
    "mlmon-canary-drift": {},
    "mlmon-canary-accuracy": {"accuracy-floor": "0.8"},
    "mlmon-canary-regression": {},
}


@pytest.fixture(scope="module")
def templates() -> dict[str, Obj]:
    objects = k8s.render(ROLLOUTS)
    assert {o["kind"] for o in objects} == {"AnalysisTemplate"}
    return {o["metadata"]["name"]: o for o in objects}


def _metrics(templates: dict[str, Obj]) -> Iterator[tuple[str, Obj]]:
    for name, template in templates.items():
        for metric in template["spec"]["metrics"]:
            yield name, metric


def test_templates_match_the_argo_schema(templates: dict[str, Obj]) -> None:
    assert set(templates) == set(ARGS)
    for template in templates.values():
        assert k8s.crd_errors(template) == [], template["metadata"]["name"]


@pytest.mark.parametrize("path, value, where", [
    (("spec", "metrics", 0, "sucessCondition"), "result[0] < 1", "spec/metrics/0: "),
    (("spec", "metrics", 0, "provider", "prometheus", "adress"), "http://x",
     "spec/metrics/0/provider/prometheus: "),
    (("spec", "args", 0, "default"), "x", "spec/args/0: "),  # an argument has a value
])
def test_schema_check_catches_mistakes(templates: dict[str, Obj], path: tuple[Any, ...],
                                       value: str, where: str) -> None:
    obj = yaml.safe_load(yaml.safe_dump(templates["mlmon-canary-drift"]))
    node = obj
    for key in path[:-1]:
        node = node[key]
    assert path[-1] not in node  # each case adds a field the schema does not know
    node[path[-1]] = value
    (error,) = k8s.crd_errors(obj)  # this mistake only, not some other error
    assert error.startswith(where) and f"{path[-1]!r} was unexpected" in error, error


def test_every_metric_gates_on_prometheus(templates: dict[str, Obj]) -> None:
    for name, metric in _metrics(templates):
        where = f"{name}/{metric['name']}"
        assert set(metric["provider"]) == {"prometheus"}, where
        assert metric["provider"]["prometheus"]["address"] == "{{args.prometheus-address}}"
        for key in ("interval", "count", "failureLimit", "successCondition",
                    "failureCondition"):
            assert key in metric, f"{where}: no {key}"
        # Inconclusive, not failed or passed, while the query has no value (too few samples).
        for key in ("successCondition", "failureCondition"):
            assert metric[key].startswith("len(result) > 0 && "), where
        assert metric["count"] * 5 >= 30 and metric["interval"] == "5m", where
        assert metric["failureLimit"] < metric["count"], where


def test_arguments_are_declared_used_and_defaulted_from_mlmon(
        templates: dict[str, Obj]) -> None:
    for name, template in templates.items():
        declared = {a["name"]: a.get("value") for a in template["spec"]["args"]}
        used = set(ARG.findall(json.dumps(template["spec"]["metrics"])))
        assert used == set(declared), name
        assert declared["model"] is None, name  # the Rollout must say which model
        assert set(ARGS[name]) <= set(declared), name
    drift = {a["name"]: a.get("value") for a in templates["mlmon-canary-drift"]["spec"]["args"]}
    assert float(drift["psi-high"]) == Thresholds().psi_high


def test_queries_use_recorded_canary_series(templates: dict[str, Obj]) -> None:
    for name, metric in _metrics(templates):
        args = {a["name"]: "0" for a in templates[name]["spec"]["args"]}
        names = metric_names(_substitute(metric["provider"]["prometheus"]["query"], args))
        assert names and names <= set(records()), (name, names - set(records()))


def _substitute(text: str, args: dict[str, str]) -> str:
    return ARG.sub(lambda m: args[m.group(1)], text)


def _args(template: Obj, model: str, address: str, extra: dict[str, str]) -> dict[str, str]:
    args = {a["name"]: a.get("value") for a in template["spec"]["args"]}
    args.update(model=model, **{"prometheus-address": address}, **extra)
    assert all(v is not None for v in args.values()), args
    return {k: str(v) for k, v in args.items()}


def _condition(expr: str, result: list[float]) -> bool:
    """Argo's expr conditions as Python (they use only len, [], comparisons, &&, +, -)."""
    python = expr.replace("&&", " and ").replace("||", " or ")
    assert re.fullmatch(r"[\w\s\[\]().<>=+\-]*", python), expr
    return bool(eval(python, {"__builtins__": {}}, {"len": len, "result": result}))


def _verdict(metric: Obj, args: dict[str, str], result: list[float]) -> str:
    success = _condition(_substitute(metric["successCondition"], args), result)
    failure = _condition(_substitute(metric["failureCondition"], args), result)
    assert not (success and failure), metric["name"]
    return "Successful" if success else "Failed" if failure else "Inconclusive"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    promtool = require_binary("promtool")
    binary = require_binary("prometheus")
    tmp = tmp_path_factory.mktemp("canary")
    source = tmp / "canary.om"
    source.write_text(data.openmetrics(int(time.time()) - 5), encoding="utf-8")
    store = tmp / "data"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source),
                    str(store)], check=True, capture_output=True, timeout=120)
    rules = [str(k8s.ROOT / "rules" / f) for f in ("mlmon-recording.yml", "mlmon-canary.yml")]
    config = tmp / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"evaluation_interval": "1s"},
                                      "rule_files": rules}), encoding="utf-8")
    with serving([binary, f"--config.file={config}", f"--storage.tsdb.path={store}",
                  "--web.listen-address=127.0.0.1:0"],
                 tmp / "prometheus.log", "/-/ready") as prometheus:
        url = prometheus.url
        wanted = ["model:mlmon_feature_psi:canary_vs_stable_max_rate1h",
                  "model:mlmon_accuracy_ratio:canary_minus_stable",
                  "model:mlmon_regression_rmse:canary_over_stable"]
        deadline = time.monotonic() + 30
        while not all(_query(url, name) for name in wanted):
            assert time.monotonic() < deadline, f"rules never recorded; see {tmp}"
            time.sleep(0.2)
        yield url


def _query(url: str, promql: str) -> list[float]:
    """The values of an instant query, as Argo's Prometheus provider passes `result`."""
    query = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    assert body["data"]["resultType"] == "vector"
    return [float(sample["value"][1]) for sample in body["data"]["result"]]


def _expected(name: str, model: str, args: dict[str, str]) -> float | None:
    """The value each metric's query should return, from canary_data's numbers."""
    enough = data.pairs_by_hand(model, "canary") >= float(args.get("min-pairs", "0"))
    if name == "canary-drift-vs-stable":
        return data.max_psi_by_hand(model)
    if name == "canary-accuracy-floor":
        return data.weighted_by_hand(model, "canary", "mlmon_accuracy_ratio") if enough else None
    if name == "canary-accuracy-vs-stable":
        diff = (data.weighted_by_hand(model, "canary", "mlmon_accuracy_ratio")
                - data.weighted_by_hand(model, "stable", "mlmon_accuracy_ratio"))
        return diff if enough else None
    assert name == "canary-rmse-vs-stable"
    ratio = (data.weighted_by_hand(model, "canary", "mlmon_regression_rmse", 2)
             / data.weighted_by_hand(model, "stable", "mlmon_regression_rmse", 2))
    return ratio if enough else None


@pytest.mark.parametrize("template, metric, model, extra, verdict", [
    ("mlmon-canary-drift", "canary-drift-vs-stable", "fraud", {}, "Failed"),  # PSI 3.0
    ("mlmon-canary-drift", "canary-drift-vs-stable", "fraud", {"psi-high": "5"}, "Successful"),
    ("mlmon-canary-drift", "canary-drift-vs-stable", "calm", {}, "Successful"),  # PSI 0
    ("mlmon-canary-drift", "canary-drift-vs-stable", "quiet", {}, "Inconclusive"),
    ("mlmon-canary-accuracy", "canary-accuracy-floor", "fraud", {}, "Successful"),  # 0.825
    ("mlmon-canary-accuracy", "canary-accuracy-floor", "fraud", {"accuracy-floor": "0.85"},
     "Failed"),
    ("mlmon-canary-accuracy", "canary-accuracy-floor", "fraud", {"min-pairs": "1000"},
     "Inconclusive"),  # 400 canary pairs
    ("mlmon-canary-accuracy", "canary-accuracy-vs-stable", "fraud", {}, "Failed"),  # -0.1
    ("mlmon-canary-accuracy", "canary-accuracy-vs-stable", "fraud",
     {"accuracy-margin": "0.15"}, "Successful"),
    ("mlmon-canary-regression", "canary-rmse-vs-stable", "eta", {}, "Failed"),  # 1.20
    ("mlmon-canary-regression", "canary-rmse-vs-stable", "eta", {"rmse-margin": "0.25"},
     "Successful"),
])
def test_queries_against_prometheus(prometheus: str, templates: dict[str, Obj], template: str,
                                    metric: str, model: str, extra: dict[str, str],
                                    verdict: str) -> None:
    spec = templates[template]
    (chosen,) = [m for m in spec["spec"]["metrics"] if m["name"] == metric]
    args = _args(spec, model, prometheus, {**ARGS[template], **extra})
    assert _substitute(chosen["provider"]["prometheus"]["address"], args) == prometheus
    result = _query(prometheus, _substitute(chosen["provider"]["prometheus"]["query"], args))
    expected = _expected(metric, model, args)
    if expected is None:
        assert result == []
    else:
        assert len(result) == 1
        assert result[0] == pytest.approx(expected, abs=1e-9)
    assert _verdict(chosen, args, result) == verdict


def test_rollouts_stay_out_of_the_base() -> None:
    base = yaml.safe_load((k8s.K8S / "base" / "kustomization.yaml").read_text())
    assert not any("rollouts" in r for r in base["resources"])
    readme = (ROLLOUTS / "README.md").read_text(encoding="utf-8")
    for name in ARGS:
        assert name in readme
    assert "mlmon.io/track" in readme


def test_podmonitor_relabels_the_track() -> None:
    objects = k8s.render(k8s.K8S / "base")
    monitor = one(objects, "PodMonitor")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    (relabel,) = [r for r in endpoint["relabelings"] if r.get("targetLabel") == "track"]
    pod_labels = one(objects, "Deployment", "fraud-model")["spec"]["template"]["metadata"][
        "labels"]
    # Prometheus' Kubernetes discovery: pod label names with [^a-zA-Z0-9_] as '_'
    (source,) = relabel["sourceLabels"]
    label = next(k for k in pod_labels if source == "__meta_kubernetes_pod_label_"
                 + re.sub(r"\W", "_", k))
    assert re.fullmatch(relabel["regex"], pod_labels[label])
    assert {"stable", "canary"} == {v for v in ("stable", "canary", "other")
                                    if re.fullmatch(relabel["regex"], v)}
    assert relabel.get("action", "replace") == "replace"
