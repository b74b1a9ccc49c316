"""`mlmon batch`: the CBPE estimate of the file and of each chunk, in every format.
Oracles: hand sums over the file's scores (through numpy's interpolation of the profile's
map when it has one), the realized accuracy of the labels, and the real promtool."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.cli import main
from exporter.stats.calibration import Calibration, CalibrationMap
from tests.batch.conftest import run_json
from tests.factories import current, make_profile, reference, write_config, write_csv, write_profile
from tests.procs import require_binary

MAP = CalibrationMap((0.05, 0.3, 0.5, 0.7, 0.95), (0.0, 0.2, 0.45, 0.8, 1.0))


def _hand(scores: np.ndarray[Any, Any], mapped: bool) -> dict[str, float]:
    p = np.interp(scores, MAP.x, MAP.y) if mapped else scores
    pos = scores >= 0.5
    tp, fp, fn, tn = p[pos].sum(), (1 - p[pos]).sum(), p[~pos].sum(), (1 - p[~pos]).sum()
    return {"accuracy": (tp + tn) / len(p), "precision": tp / (tp + fp),
            "recall": tp / (tp + fn), "f1": 2 * tp / (2 * tp + fp + fn)}


def _check(est: dict[str, Any], hand: dict[str, float]) -> None:
    for k, v in hand.items():
        assert est[k] == pytest.approx(v, abs=1e-12), k


def test_raw_score_estimate_of_a_labelled_file_without_config(files: dict[str, Path]) -> None:
    """No config, no map: the file turns out to be binary 0/1 scores, so the raw-score
    estimate is reported next to the realized accuracy (the scores are the true P(y=1))."""
    report = run_json(files["profile"], files["input"], "--chunk-size", "500")
    data = current()
    scores = np.asarray(data["prediction"], dtype=np.float64)
    est = report["estimate"]
    assert est["samples"] == len(scores)
    assert est["confidence"] == "raw scores (no reference labels)"
    _check(est, _hand(scores, mapped=False))
    realized = report["performance"]["accuracy"]
    print(f"\nbatch: estimated {est['accuracy']:.4f}, realized {realized:.4f}")
    assert abs(est["accuracy"] - realized) < 0.03
    for chunk in report["chunks"]:
        part = scores[chunk["first_row"]:chunk["first_row"] + chunk["rows"]]
        _check(chunk["estimate"], _hand(part, mapped=False))


def test_no_estimate_when_the_file_is_not_binary_scores(tmp_path: Path,
                                                        files: dict[str, Path]) -> None:
    data = current()
    data["prediction"] = [3.0 * v for v in data["prediction"]]  # not in [0, 1]: regression
    report = run_json(files["profile"], write_csv(tmp_path / "r.csv", data), "--chunk-size", "500")
    assert report["estimate"] is None
    assert all(c["estimate"] is None for c in report["chunks"])
    unlabelled = current()
    del unlabelled["label"]  # without labels or config the task is unknown: no estimate
    assert run_json(files["profile"], write_csv(tmp_path / "u.csv", unlabelled))["estimate"] \
        is None


def _calibrated(tmp_path: Path) -> Path:
    profile = replace(make_profile(reference()),
                      calibration=Calibration(4000, ("0", "1"), (MAP,)))
    return write_profile(profile, tmp_path / "calibrated.json")


def test_calibrated_estimate_with_config_in_every_format(tmp_path: Path,
                                                         files: dict[str, Path]) -> None:
    profile = _calibrated(tmp_path)
    config = write_config(tmp_path / "mlmon.yaml", "min_samples: 100")
    data = current()
    del data["label"]  # no labels needed
    path = write_csv(tmp_path / "nolabels.csv", data)
    scores = np.asarray(data["prediction"], dtype=np.float64)
    hand = _hand(scores, mapped=True)
    report = run_json(profile, path, "--config", str(config))
    assert report["performance"] is None
    assert report["estimate"]["confidence"] == "calibrated"
    _check(report["estimate"], hand)
    outputs = {}
    for fmt in ("text", "html", "prometheus"):
        out = tmp_path / f"r.{fmt}"
        assert main(["batch", "--profile", str(profile), "--input", str(path), "--config",
                     str(config), "--format", fmt, "--out", str(out)]) == 0
        outputs[fmt] = out.read_text(encoding="utf-8")
    assert f"accuracy {hand['accuracy']:.4f}" in outputs["text"] \
        or f"accuracy {hand['accuracy']:.4g}" in outputs["text"]
    assert "estimated performance" in outputs["text"]
    assert "Estimated performance" in outputs["html"]
    values = {s.name: s.value for fam in text_string_to_metric_families(outputs["prometheus"])
              for s in fam.samples if s.name.startswith("mlmon_estimated_")}
    assert values == pytest.approx({f"mlmon_estimated_{k}_ratio": v for k, v in hand.items()},
                                   abs=1e-9)
    lint = subprocess.run([require_binary("promtool"), "check", "metrics"],
                          input=outputs["prometheus"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")


def test_below_min_samples_no_estimate(tmp_path: Path) -> None:
    profile = _calibrated(tmp_path)
    config = write_config(tmp_path / "mlmon.yaml", "min_samples: 2000")
    report = run_json(profile, write_csv(tmp_path / "b.csv", current()), "--config", str(config))
    assert report["estimate"] is None
    assert json.dumps(report)  # still a strict JSON document
