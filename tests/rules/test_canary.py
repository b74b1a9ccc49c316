"""rules/mlmon-canary.yml: the canary-vs-stable PSI oracle and the track selectors."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from exporter.stats.psi import psi
from tests.deploy.promql import analyse
from tests.procs import require_binary
from tests.rules.rule_files import (
    RULES_DIR,
    TESTS_DIR,
    floored_psi,
    load_test_file,
    promtool,
    records,
    series_labels,
)

CANARY_TEST = TESTS_DIR / "canary.test.yml"
CANARY_RULES = RULES_DIR / "mlmon-canary.yml"
TRACKS = ("canary", "stable")


def test_canary_psi_expectations_match_numpy_and_the_exporter() -> None:
    """Recompute the expected canary-vs-stable PSI of canary.test.yml from its series."""
    (case,) = load_test_file(CANARY_TEST)["tests"]
    counts: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for item in case["input_series"]:
        name, labels = series_labels(item["series"])
        if name != "mlmon_feature_bucket_total" or labels.get("track") not in TRACKS:
            continue  # untracked pods take no part
        m = re.fullmatch(r"0\+(\d+(?:\.\d+)?)x\d+", str(item["values"]))
        assert m is not None, item["values"]
        counts[(labels["feature"], labels["track"])][labels["bucket"]] += float(m.group(1))

    expected = {}
    for test in case["promql_expr_test"]:
        m = re.search(r'canary_vs_stable_rate1h\{feature="(\w+)"\} - ([0-9.e-]+)\)', test["expr"])
        if m:
            expected[m.group(1)] = float(m.group(2))
    assert set(expected) == {"amount", "country"}

    for feature, value in expected.items():
        canary, stable = counts[(feature, "canary")], counts[(feature, "stable")]
        buckets = sorted(set(canary) | set(stable))
        assert set(canary) != set(stable) or feature == "amount"  # country: union matters
        c = np.array([canary.get(b, 0.0) for b in buckets])
        s = np.array([stable.get(b, 0.0) for b in buckets])
        # independent oracle: floor the shares at epsilon, renormalise, sum the terms
        assert value == pytest.approx(floored_psi(c, s), abs=1e-12), feature
        # the sidecar's PSI with stable as reference and canary as current agrees
        assert value == pytest.approx(psi(s, c), abs=1e-12), feature
    assert sum(counts[("sparse", "canary")].values()) * 60 < 500  # below min_samples


def test_raw_selectors_take_only_tracked_pods() -> None:
    """Every raw mlmon_* selector of a canary rule keeps only track stable or canary."""
    checked = 0
    for name, rule in records().items():
        if "track" not in name.split(":")[0].split("_") and "canary" not in name:
            continue
        for selector in analyse(rule["expr"]).selectors:
            if selector.metric.startswith("mlmon_"):
                assert selector.matchers.get("track") == ("=~", "stable|canary"), \
                    (name, selector)
                checked += 1
    assert checked >= 15


def test_canary_rules_catch_a_changed_epsilon(tmp_path: Path) -> None:
    """The unit test is not vacuous: a smaller floor for unseen buckets fails it (PSI is
    symmetric, so the floor, not the side, is what a mistake would change)."""
    require_binary("promtool")
    text = CANARY_RULES.read_text(encoding="utf-8")
    changed = re.sub(r"(\n\s*)1e-4(\n\s*\))", r"\g<1>1e-6\g<2>", text, count=1)
    assert changed != text
    rules = tmp_path / "rules"
    rules.mkdir()
    for path in RULES_DIR.glob("*.yml"):
        (rules / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (rules / CANARY_RULES.name).write_text(changed, encoding="utf-8")
    tests = tmp_path / "tests" / "rules"
    tests.mkdir(parents=True)
    (tests / CANARY_TEST.name).write_text(CANARY_TEST.read_text(encoding="utf-8"),
                                          encoding="utf-8")
    out = promtool("test", "rules", str(tests / CANARY_TEST.name))
    assert out.returncode != 0
    assert "canary_vs_stable_rate1h" in out.stdout + out.stderr
