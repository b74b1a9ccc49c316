"""prometheus/prometheus.example.yml: valid for promtool with the repository's rules, and its
remote_write ships only series mlmon exports or records."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from exporter.metric_names import BY_NAME
from exporter.rulegen import load_file, rule_files
from tests.paths import ROOT
from tests.rules.rule_files import RULES_DIR, promtool, records, sidecar_job_regex

EXAMPLE = ROOT / "prometheus" / "prometheus.example.yml"
BUILTIN = {"ALERTS", "ALERTS_FOR_STATE"}  # series Prometheus writes for alerting rules


def _config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return config


def _keep_regex() -> str:
    (remote,) = _config()["remote_write"]
    (keep,) = [r for r in remote["write_relabel_configs"] if r["action"] == "keep"]
    assert keep["source_labels"] == ["__name__"]
    regex: str = keep["regex"]
    return regex


def test_rule_files_glob_matches_every_rule_file() -> None:
    (pattern,) = _config()["rule_files"]
    name = PurePosixPath(pattern).name
    ours = [p.name for p in rule_files(RULES_DIR)]
    assert [n for n in ours if fnmatch.fnmatch(n, name)] == ours


def test_the_scrape_job_is_one_the_sidecar_alerts_select() -> None:
    jobs = [c["job_name"] for c in _config()["scrape_configs"]]
    assert jobs and all(re.fullmatch(sidecar_job_regex(), job) for job in jobs), jobs


def test_promtool_accepts_it_with_the_repository_rules(tmp_path: Path) -> None:
    config = _config()
    (pattern,) = config["rule_files"]
    config["rule_files"] = [str(RULES_DIR / PurePosixPath(pattern).name)]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = promtool("check", "config", str(copy))
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout + out.stderr
    for path in rule_files(RULES_DIR):  # each rule file found and checked
        count = sum(len(g["rules"]) for g in load_file(path))
        assert re.search(rf"{re.escape(path.name)}\s+SUCCESS: {count} rules found", text), \
            (path.name, text)


def test_remote_write_keeps_only_exported_or_recorded_series() -> None:
    names = _keep_regex().split("|")
    assert all(re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", n) for n in names), names
    unknown = [n for n in names if n not in BY_NAME and n not in records() and n not in BUILTIN]
    assert unknown == []


def test_remote_write_ships_the_downsampled_series_and_not_the_raw_ones() -> None:
    keep = re.compile(_keep_regex())  # Prometheus anchors relabel regexes: fullmatch
    downsampled = {r["record"] for g in load_file(RULES_DIR / "mlmon-downsampling.yml")
                   for r in g["rules"]}
    assert {"model_version_feature:mlmon_feature_psi:avg1h",
            "model_version:mlmon_accuracy_ratio:avg1h",
            "model_version:mlmon_regression_rmse:avg1h"} <= downsampled
    assert all(keep.fullmatch(n) for n in downsampled)
    assert keep.fullmatch("ALERTS")
    dropped = ["mlmon_feature_bucket_total", "mlmon_feature_psi",
               "model_version_feature:mlmon_feature_psi:fleet_rate1h",
               "model_version_feature_bucket:mlmon_feature_bucket:ratio_rate1h"]
    assert not any(keep.fullmatch(n) for n in dropped)
    # every raw per-bucket series is left to local retention
    shipped = [n for n in [*BY_NAME, *records()] if keep.fullmatch(n)]
    assert not any("bucket" in n for n in shipped), shipped
