"""The PrometheusRule generator and `mlmon rules k8s|check`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from exporter.cli import main
from exporter.rulegen import (
    DEFAULT_OUT,
    RuleFileError,
    dump_rule_file,
    load_groups,
    parse_duration,
    prometheus_rule,
    render,
    scale_for,
)
from tests.paths import ROOT
from tests.procs import require_binary

RULES = ROOT / "rules"
COMMITTED = ROOT / DEFAULT_OUT


def test_committed_prometheusrule_is_generated_from_rules() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(prometheus_rule(load_groups(RULES))), \
        "k8s/base/prometheusrule.yaml is stale: run `mlmon rules k8s --out " \
        "k8s/base/prometheusrule.yaml`"


def test_prometheusrule_holds_exactly_the_rule_files_groups() -> None:
    resource = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["kind"] == "PrometheusRule"
    assert resource["metadata"]["name"] == "mlmon"
    assert resource["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    from_files = []
    for path in sorted(RULES.glob("*.yml")):
        from_files.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])
    assert resource["spec"]["groups"] == from_files


def test_generated_groups_pass_promtool(tmp_path: Path) -> None:
    resource = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    rule_file = tmp_path / "generated.yml"
    rule_file.write_text(yaml.safe_dump({"groups": resource["spec"]["groups"]}), encoding="utf-8")
    out = subprocess.run([require_binary("promtool"), "check", "rules", str(rule_file)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    alerts_and_records = sum(len(g["rules"]) for g in resource["spec"]["groups"])
    assert f"SUCCESS: {alerts_and_records} rules found" in out.stdout


def test_rules_check_passes_on_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["rules", "check"]) == 0


def test_rules_check_fails_when_rules_change_and_k8s_fixes_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    out = tmp_path / "prometheusrule.yaml"
    shutil.copy(COMMITTED, out)
    path = rules / "mlmon-alerts-sidecar.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("for: 30m", "for: 45m"),
                    encoding="utf-8")
    args = ["--rules-dir", str(rules)]
    assert main(["rules", "check", *args, "--file", str(out)]) == 1
    err = capsys.readouterr().err
    assert "-      for: 30m" in err and "+      for: 45m" in err and "out of date" in err
    assert main(["rules", "k8s", *args, "--out", str(out)]) == 0
    assert main(["rules", "check", *args, "--file", str(out)]) == 0


def test_rules_k8s_labels_and_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "k8s", "--rules-dir", str(RULES), "--release", "",
                 "--label", "team=ml", "--namespace", "monitoring", "--name", "x"]) == 0
    resource = yaml.safe_load(capsys.readouterr().out)
    assert resource["metadata"]["name"] == "x"
    assert resource["metadata"]["namespace"] == "monitoring"
    assert "release" not in resource["metadata"]["labels"]
    assert resource["metadata"]["labels"]["team"] == "ml"


def test_rules_k8s_rejects_a_bad_label() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["rules", "k8s", "--label", "novalue"])
    assert exc.value.code == 2


def test_yaml_anchors_are_rejected_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: &e up == 0\n"
        "      - alert: B\n        expr: *e\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"a\.yml:5: YAML anchor"):
        load_groups(tmp_path)


def test_duplicate_group_names_and_bad_shapes_are_rejected(tmp_path: Path) -> None:
    group = "groups:\n  - name: g\n    rules: []\n"
    (tmp_path / "a.yml").write_text(group, encoding="utf-8")
    (tmp_path / "b.yml").write_text(group, encoding="utf-8")
    with pytest.raises(RuleFileError, match="group 'g' already defined"):
        load_groups(tmp_path)
    (tmp_path / "b.yml").write_text("rules: []\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"b\.yml: expected a mapping with a `groups` list"):
        load_groups(tmp_path)
    with pytest.raises(RuleFileError, match=r"no \*\.yml rule files"):
        load_groups(tmp_path / "empty")


def test_parse_duration() -> None:
    assert parse_duration("1h30m") == 5_400_000
    assert parse_duration("24h") == 86_400_000
    assert parse_duration("500ms") == 500
    for bad in ("", "5", "5 m", "m5", "1h-3m"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_scale_for_keeps_order_and_loads_in_promtool(tmp_path: Path) -> None:
    groups = load_groups(RULES)
    scaled = scale_for(groups, 1 / 60)
    durations = {r["alert"]: r["for"] for g in scaled for r in g["rules"] if "alert" in r}
    assert durations["MlmonAccuracyBelowFloor"] == "5s"  # 5m / 60
    assert durations["MlmonFeatureDriftMediumEscalated"] == "1440s"  # 24h / 60
    assert durations["MlmonSidecarDown"] == "5s"
    assert durations["MlmonSidecarDownEscalated"] == "30s"
    assert groups[0]["rules"][0]["for"] == "5m"  # the input is not modified
    assert scale_for(groups, 1e-9)[0]["rules"][0]["for"] == "1s"  # floor at one second
    path = tmp_path / "scaled.yml"
    path.write_text(dump_rule_file(scaled), encoding="utf-8")
    out = subprocess.run([require_binary("promtool"), "check", "rules", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
