"""On the bundled examples, batch flags exactly the drift the README says was injected,
and its KS / chi-square equal scipy on the profile's sample or counts and the batch."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from scipy import stats as sps

from exporter.cli import main
from exporter.metric_names import PREDICTION_FEATURE
from exporter.profile.files import load_profile
from exporter.profile.model import CategoricalProfile, NumericProfile
from tests.batch.conftest import run_json
from tests.paths import EXAMPLES


def _readme_drifted(example: str) -> set[str]:
    """Features whose 'injected drift' cell is not 'none' in the README's table."""
    text = (EXAMPLES / "README.md").read_text()
    section = text.split(f"## {example}/", 1)[1].split("\n## ", 1)[0]
    drifted: set[str] = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] in ("feature", "") or set(cells[0]) <= {"-", " "}:
            continue
        if cells[1].lower() == "none":
            continue
        for name in cells[0].split(","):
            name = re.sub(r"\s*\(.*\)$", "", name.strip())
            drifted.add(PREDICTION_FEATURE if name == "prediction" else name)
    return drifted


def _example(name: str, tmp_path: Path) -> tuple[Path, Path, Path]:
    # The examples are committed (scripts/make_example.py rebuilds them): a missing file is a
    # broken checkout, so it fails here, under CI or not, never skips.
    folder = EXAMPLES / name
    missing = [f for f in ("profile.json", "current.csv", "mlmon.yaml")
               if not (folder / f).is_file()]
    assert not missing, (f"{folder}: missing {', '.join(missing)} "
                         "(committed files; rebuild: python scripts/make_example.py)")
    copy = tmp_path / "current.csv"
    copy.write_bytes((folder / "current.csv").read_bytes())
    return folder / "profile.json", copy, folder / "mlmon.yaml"


@pytest.mark.parametrize("example", ["fraud", "housing"])
def test_flags_exactly_the_injected_drift(example: str, tmp_path: Path) -> None:
    profile, data, config = _example(example, tmp_path)
    expected = _readme_drifted(example)
    assert expected, "README lists no drifted feature"
    for extra in ((), ("--config", str(config))):
        report = run_json(profile, data, *extra)
        flagged = {f["name"] for f in report["features"]
                   if f["severity"] in ("medium", "high")}
        assert flagged == expected
        assert report["severity"] == "high"


def _column(path: Path, name: str) -> list[str]:
    with path.open(newline="") as fh:
        return [row[name] for row in csv.DictReader(fh)]


def test_fraud_ks_and_chi2_equal_scipy(tmp_path: Path) -> None:
    profile_path, data, _ = _example("fraud", tmp_path)
    report = run_json(profile_path, data)
    profile = load_profile(profile_path)
    by_name = {f["name"]: f for f in report["features"]}
    for f in profile.features:
        got = by_name[f.name]
        values = _column(data, f.name)
        if isinstance(f, NumericProfile):
            cur = np.array([float(v) for v in values if v.lower() not in ("", "nan")])
            ks = sps.ks_2samp(np.asarray(f.sample), cur, method="asymp")
            assert got["ks_statistic"] == ks.statistic
            assert got["ks_pvalue"] == pytest.approx(ks.pvalue, abs=1e-9)
            assert got["samples"] == len(cur)
        else:
            assert isinstance(f, CategoricalProfile)
            cur_counts = [values.count(c) for c in f.categories]
            cur_counts.append(sum(1 for v in values if v != "" and v not in f.categories))
            table = np.array([f.counts, cur_counts])
            chi2, p, _, _ = sps.chi2_contingency(table[:, table.sum(axis=0) > 0])
            assert got["chi2_statistic"] == pytest.approx(chi2, abs=1e-9)
            assert got["chi2_pvalue"] == pytest.approx(p, abs=1e-9)


def test_fraud_accuracy_equals_hand_computation(tmp_path: Path) -> None:
    profile_path, data, config = _example("fraud", tmp_path)
    report = run_json(profile_path, data, "--config", str(config))
    labels = [int(v) for v in _column(data, "label")]
    scores = [float(v) for v in _column(data, "prediction")]
    hits = sum(1 for y, s in zip(labels, scores, strict=True) if (s >= 0.5) == (y == 1))
    assert report["performance"]["accuracy"] == pytest.approx(hits / len(labels), abs=1e-12)


def test_config_thresholds_are_reported(tmp_path: Path) -> None:
    profile_path, data, config = _example("fraud", tmp_path)
    configured = yaml.safe_load(config.read_text())["models"][0]["thresholds"]
    report = run_json(profile_path, data, "--config", str(config))
    assert report["thresholds"] == configured
    out = tmp_path / "m.prom"
    assert main(["batch", "--profile", str(profile_path), "--input", str(data),
                 "--config", str(config), "--format", "prometheus", "--out", str(out)]) == 0
    exported = {s.labels["threshold"]: s.value
                for fam in text_string_to_metric_families(out.read_text())
                for s in fam.samples if s.name == "mlmon_threshold"}
    assert exported == configured
