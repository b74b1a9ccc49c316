"""rules/ through the real promtool: syntax, the unit tests, and the fleet-PSI oracle."""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from exporter.rulegen import rule_files
from exporter.stats.psi import psi
from tests.rules.rule_files import (
    RULES_DIR,
    TESTS_DIR,
    floored_psi,
    load_test_file,
    promtool,
    series_labels,
    unit_test_files,
)

FLEET_PSI_TEST = TESTS_DIR / "fleet_psi.test.yml"


def test_promtool_check_rules() -> None:
    out = promtool("check", "rules", *map(str, rule_files(RULES_DIR)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("SUCCESS") == len(rule_files(RULES_DIR))


@pytest.mark.parametrize("path", unit_test_files(), ids=lambda p: p.name)
def test_promtool_unit_tests(path: Path) -> None:
    out = promtool("test", "rules", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_unit_tests_catch_a_changed_rule(tmp_path: Path) -> None:
    """The promtool tests are not vacuous: a rollback alert that waits longer fails them."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    model = rules / "mlmon-alerts-model.yml"
    text = model.read_text(encoding="utf-8")
    changed = text.replace("      - alert: MlmonAccuracyBelowFloor\n", "", 1)
    changed = changed.replace("  - name: mlmon.alerts.performance\n    rules:\n",
                              "  - name: mlmon.alerts.performance\n    rules:\n"
                              "      - alert: MlmonAccuracyBelowFloor\n", 1)
    changed = re.sub(r"(alert: MlmonAccuracyBelowFloor\n(?:.*\n)*?        for: )5m", r"\g<1>10m",
                     changed, count=1)
    assert changed != text
    model.write_text(changed, encoding="utf-8")
    tests = tmp_path / "tests" / "rules"
    tests.mkdir(parents=True)
    shutil.copy(TESTS_DIR / "performance.test.yml", tests)
    out = promtool("test", "rules", str(tests / "performance.test.yml"))
    assert out.returncode != 0
    assert "MlmonAccuracyBelowFloor" in out.stdout + out.stderr


def test_fleet_psi_expectations_match_numpy_and_the_exporter() -> None:
    """Recompute the expected fleet PSI of fleet_psi.test.yml from its input series."""
    (case,) = load_test_file(FLEET_PSI_TEST)["tests"]
    current: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    reference: dict[str, dict[str, float]] = defaultdict(dict)
    for item in case["input_series"]:
        name, labels = series_labels(item["series"])
        if name == "mlmon_threshold":
            continue
        feature, bucket = labels["feature"], labels["bucket"]
        if name == "mlmon_feature_bucket_total":
            m = re.fullmatch(r"(?:\d+)(?:\+(\d+(?:\.\d+)?))?x\d+", str(item["values"]))
            assert m is not None, item["values"]
            current[feature][bucket] += float(m.group(1) or 0)  # counts per minute
        else:
            value = float(str(item["values"]).split("x")[0])
            assert reference[feature].get(bucket, value) == value  # same on every pod
            reference[feature][bucket] = value

    expected = {}
    for test in case["promql_expr_test"]:
        m = re.search(r'fleet_rate1h\{feature="(\w+)"\} - ([0-9.e-]+)\)', test["expr"])
        if m:
            expected[m.group(1)] = float(m.group(2))
    assert set(expected) == {"amount", "country"}

    for feature, value in expected.items():
        buckets = sorted(set(current[feature]) | set(reference[feature]))
        c = np.array([current[feature].get(b, 0.0) for b in buckets])
        r = np.array([reference[feature].get(b, 0.0) for b in buckets])
        # independent oracle: floor the shares at epsilon, renormalise, sum the terms
        assert value == pytest.approx(floored_psi(c, r), abs=1e-12), feature
        # and the sidecar's own PSI on the same counts agrees with the recording rule
        assert value == pytest.approx(psi(r, c), abs=1e-12), feature
    assert sum(current["idle"].values()) == 0  # idle: no traffic, no fleet PSI expected
    assert sum(current["sparse"].values()) * 60 < 500  # sparse: below min_samples in the hour
