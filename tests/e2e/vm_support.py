"""Pieces of the long-term store test (tests/e2e/test_victoriametrics.py) and its bench
(bench/longterm_storage.py): configuration files and command lines for Prometheus
remote-writing to VictoriaMetrics with the keep rules of prometheus/prometheus.example.yml,
and every raw sample to a second VictoriaMetrics that vmalert evaluates rules/ against.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from exporter.demo import stack_config
from exporter.demo.sidecar import sidecar_argv
from exporter.rulegen import dump_rule_file, load_groups
from tests.e2e.loop_support import Traffic, sidecar_config
from tests.procs import free_port, running, serving

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "prometheus" / "prometheus.example.yml"
RULES_DIR = ROOT / "rules"
# Names the recording rules of rules/ write (Prometheus evaluates them, so they are not on
# the sidecar's /metrics): a keep rule can only select them by these names.
RECORDED_PSI = "model_version_feature:mlmon_feature_psi:avg1h"
RECORDED_FLEET = {  # downsampled series -> the sidecar series its fleet rule averages
    "model_version:mlmon_accuracy_ratio:avg1h": "mlmon_accuracy_ratio",
    "model_version:mlmon_regression_mae:avg1h": "mlmon_regression_mae",
    "model_version:mlmon_regression_rmse:avg1h": "mlmon_regression_rmse",
}


def example() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return document


def remote_write(url: str) -> list[dict[str, Any]]:
    """The example's ``remote_write`` section, unchanged but for its ``url``."""
    sections = copy.deepcopy(example()["remote_write"])
    for section in sections:
        section["url"] = url
    return list(sections)


def keep_pattern() -> re.Pattern[str]:
    """The example's keep rule on ``__name__`` as Prometheus applies it (fully anchored)."""
    (section,) = example()["remote_write"]
    (rule,) = [r for r in section["write_relabel_configs"] if r.get("action") == "keep"]
    assert rule["source_labels"] == ["__name__"], rule
    return re.compile(f"^(?:{rule['regex']})$")


def write_rules(path: Path, rules_dir: Path = RULES_DIR) -> Path:
    """rules/ as one file as the loop test runs it (every ``for`` scaled down), and with
    every group evaluated at the global interval: the downsampling group's 5 minutes
    would record one sample in the test."""
    stack_config.write_rules(path, rules_dir=rules_dir)
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    for group in groups:
        group.pop("interval", None)
    path.write_text(dump_rule_file(groups), encoding="utf-8")
    return path


def rule_names(rules_dir: Path = RULES_DIR) -> tuple[set[str], set[str]]:
    """(alert names, recorded series names) of rules/ as it is now."""
    alerts, records = set(), set()
    for group in load_groups(rules_dir):
        for rule in group["rules"]:
            if "alert" in rule:
                alerts.add(rule["alert"])
            else:
                records.add(rule["record"])
    return alerts, records


# The raw samples Prometheus scraped, for the VictoriaMetrics vmalert evaluates against:
# not what Prometheus' own rules recorded (vmalert records those itself), and without the
# external labels, which Prometheus' own rules do not see either.
RAW_ONLY: list[dict[str, Any]] = [
    {"source_labels": ["__name__"], "regex": ".*:.*|ALERTS|ALERTS_FOR_STATE",
     "action": "drop"},
    {"regex": "cluster", "action": "labeldrop"},
]


def write_prometheus(path: Path, rules: Path, sidecar: str, alertmanager: str,
                     store: str, raw_store: str) -> Path:
    """The loop test's Prometheus (1 s scrape and evaluation) plus the example's
    ``external_labels`` and ``remote_write`` pointed at ``store``'s /api/v1/write, and a
    second ``remote_write`` of every raw sample to ``raw_store``."""
    stack_config.write_prometheus(path, rules, sidecar, alertmanager)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["global"]["external_labels"] = dict(example()["global"]["external_labels"])
    assert set(config["global"]["external_labels"]) == {"cluster"}  # what RAW_ONLY drops
    config["remote_write"] = [*remote_write(f"{store}/api/v1/write"), {
        "url": f"{raw_store}/api/v1/write", "write_relabel_configs": RAW_ONLY,
        "queue_config": {"batch_send_deadline": "1s"}}]
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def write_notifier(path: Path, alertmanager: str) -> Path:
    """vmalert's notifier config: ``alertmanager`` (HOST:PORT), and the example's
    ``external_labels`` added to each alert as Prometheus adds them. (``-external.label``
    would put them on recorded series too, and `ignoring (bucket)` in rules/ would then
    match no aggregate without them: the fleet PSI would be empty.)"""
    config = {"static_configs": [{"targets": [alertmanager]}],
              "alert_relabel_configs": [
                  {"target_label": k, "replacement": v}
                  for k, v in example()["global"]["external_labels"].items()]}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def victoria_argv(binary: str, data: Path, listen: str) -> list[str]:
    # latencyOffset 0 and no response cache: a query sees every sample already written,
    # and query_range is not re-aligned to multiples of its step (the cache does that).
    argv = [binary, f"-httpListenAddr={listen}", f"-storageDataPath={data}",
            "-retentionPeriod=100y", "-search.latencyOffset=0s", "-search.disableCache",
            "-loggerLevel=WARN"]
    return argv


def vmalert_argv(binary: str, rules: Iterable[Path], store: str, notifier: Path,
                 listen: str) -> list[str]:
    """vmalert evaluating ``rules`` every second against ``store``, recording there and
    notifying as ``notifier`` (write_notifier) says; without an ``alertgroup`` label of
    its own, so its alerts carry the labels Prometheus' do."""
    return [binary, *(f"-rule={r}" for r in rules), f"-datasource.url={store}",
            f"-remoteWrite.url={store}", f"-remoteRead.url={store}",
            "-remoteWrite.flushInterval=1s", f"-notifier.config={notifier}",
            "-disableAlertgroupLabel", "-evaluationInterval=1s", f"-httpListenAddr={listen}",
            "-loggerLevel=WARN"]


def get_json(url: str, params: dict[str, str] | None = None) -> Any:
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=20) as response:
        return json.loads(response.read())


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=20) as response:
        text: str = response.read().decode()
        return text


def series(store: str, match: str, start: float) -> list[dict[str, str]]:
    """Label sets of the series matching ``match`` since ``start`` (/api/v1/series)."""
    answer = get_json(f"{store}/api/v1/series", {"match[]": match, "start": repr(start)})
    found: list[dict[str, str]] = answer["data"]
    return found


def expected_series(exposition: str, model: str) -> dict[str, int]:
    """Series per name that the keep rules should ship for ``model``, derived from the
    sidecar's own /metrics: its kept series one for one, plus what the downsampling rules
    record from it (one PSI average per version and feature, one fleet average per
    version that reports the metric). ALERTS depends on what fires and is not counted."""
    keep = keep_pattern()
    count: dict[str, int] = {}
    psi: set[tuple[str, str]] = set()
    fleet: dict[str, set[str]] = {name: set() for name in RECORDED_FLEET.values()}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.labels.get("model") != model:
                continue
            if keep.match(sample.name):
                count[sample.name] = count.get(sample.name, 0) + 1
            if sample.name == "mlmon_feature_psi":
                psi.add((sample.labels["version"], sample.labels["feature"]))
            if sample.name in fleet:
                fleet[sample.name].add(sample.labels["version"])
    recorded = {RECORDED_PSI: len(psi)}
    recorded.update({name: len(fleet[source]) for name, source in RECORDED_FLEET.items()})
    for name, n in recorded.items():
        if n and keep.match(name):
            count[name] = n
    return count


NULL_ALERTMANAGER = "route: {receiver: drop}\nreceivers: [{name: drop}]\n"


@dataclass
class Stack:
    """What `stack` started: URLs of the sidecar, Prometheus, the long-term store it
    remote-writes to, the VictoriaMetrics that vmalert evaluates against, and one
    Alertmanager for Prometheus and one for vmalert; ``traffic`` feeds the sidecar."""

    sidecar: str
    prometheus: str
    longterm: str
    victoria: str
    vmalert: str
    am_prometheus: str
    am_vmalert: str
    traffic: Traffic
    started: float


@contextlib.contextmanager
def stack(tmp: Path, binaries: dict[str, str], rate: float = 100.0) -> Iterator[Stack]:
    """Start everything on loopback and stop it all. The sidecar, Prometheus and the
    Alertmanagers listen on port 0 and announce their port (tests.procs.serving);
    VictoriaMetrics 1.79 and vmalert log the address they were given, not the port they
    got, so theirs come from tests.procs.free_port."""
    addr: dict[str, str] = {}
    for name in ("longterm", "victoria", "vmalert"):
        addr[name] = f"127.0.0.1:{free_port()}"
    rules = write_rules(tmp / "rules.yml")
    am_config = tmp / "alertmanager.yml"
    am_config.write_text(NULL_ALERTMANAGER, encoding="utf-8")
    serve = sidecar_argv(sidecar_config(tmp / "mlmon.yaml"), tmp / "mlmon.sock", "127.0.0.1:0")
    with contextlib.ExitStack() as started:
        for am in ("am_prometheus", "am_vmalert"):
            addr[am] = started.enter_context(serving(
                stack_config.alertmanager_argv(binaries["prometheus-alertmanager"], am_config,
                                               tmp / f"{am}-data", "127.0.0.1:0"),
                tmp / f"{am}.log", "/-/ready", 60)).address["http"]
        started.enter_context(running(
            victoria_argv(binaries["victoria-metrics"], tmp / "longterm-data",
                          addr["longterm"]), tmp / "longterm.log",
            f"http://{addr['longterm']}/health", 60))
        addr["sidecar"] = started.enter_context(serving(
            serve, tmp / "sidecar.log", "/readyz", 60,
            env={**os.environ, "MLMON_COMPUTE_INTERVAL": "1s"})).address["http"]
        started.enter_context(running(
            victoria_argv(binaries["victoria-metrics"], tmp / "victoria-data",
                          addr["victoria"]), tmp / "victoria.log",
            f"http://{addr['victoria']}/health", 60))
        prom_config = write_prometheus(tmp / "prometheus.yml", rules, addr["sidecar"],
                                       addr["am_prometheus"], f"http://{addr['longterm']}",
                                       f"http://{addr['victoria']}")
        addr["prometheus"] = started.enter_context(serving(
            stack_config.prometheus_argv(binaries["prometheus"], prom_config, tmp / "tsdb",
                                         "127.0.0.1:0"),
            tmp / "prometheus.log", "/-/ready", 60)).address["http"]
        notifier = write_notifier(tmp / "notifier.yml", addr["am_vmalert"])
        started.enter_context(running(
            vmalert_argv(binaries["vmalert"], [rules], f"http://{addr['victoria']}", notifier,
                         addr["vmalert"]), tmp / "vmalert.log",
            f"http://{addr['vmalert']}/health", 60))
        url = {name: f"http://{a}" for name, a in addr.items()}
        traffic = started.enter_context(Traffic(url["sidecar"], rate=rate))
        yield Stack(url["sidecar"], url["prometheus"], url["longterm"], url["victoria"],
                    url["vmalert"], url["am_prometheus"], url["am_vmalert"], traffic,
                    time.time())
