"""`mlmon batch` runs the error-stream Page-Hinkley test over the labelled rows in file order;
detections (file row offsets) against River's ``drift.PageHinkley`` on the same errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from exporter.batch.run import BatchOptions, run_batch
from exporter.cli import main
from exporter.profile.files import load_profile
from exporter.stats.errordrift import CLASSIFICATION, REGRESSION, PageHinkleyParams
from exporter.stats.thresholds import Thresholds
from tests.batch.conftest import run_json
from tests.factories import make_profile, reference, write_config, write_csv, write_profile
from tests.stats.test_errordrift import normalised_river, standardised_river


def _scored_file(tmp: Path, n: int = 7000, change: int = 4000,
                 ) -> tuple[Path, list[int], list[float]]:
    """Binary scores whose thresholded class is wrong 10 % of the time, then 25 %; every
    37th row has no label. Returns the file, the labelled rows' offsets, every row's error."""
    rng = np.random.default_rng(12)
    x = rng.normal(0.0, 1.0, n)
    score = 1 / (1 + np.exp(-x))
    cls = (score >= 0.5).astype(int)
    wrong = np.where(np.arange(n) < change, rng.random(n) < 0.1, rng.random(n) < 0.25)
    label: list[object] = np.where(wrong, 1 - cls, cls).tolist()
    for i in range(0, n, 37):
        label[i] = None
    data = {"x": x.tolist(), "y": rng.exponential(2.0, n).tolist(),
            "color": rng.choice(["red", "green", "blue"], n).tolist(),
            "prediction": score.tolist(), "label": label}
    rows = [i for i in range(n) if label[i] is not None]
    return write_csv(tmp / "scored.csv", data), rows, wrong.astype(float).tolist()


def test_scores_detections_are_rivers_at_their_file_rows(tmp_path: Path) -> None:
    profile = write_profile(make_profile(reference()), tmp_path / "profile.json")
    data, rows, wrong = _scored_file(tmp_path)
    errors = [wrong[i] for i in rows]
    expected = [rows[k] for k in standardised_river(errors, CLASSIFICATION)]
    report = run_json(profile, data)
    ed = report["error_drift"]
    print(f"batch, 10 % -> 25 % at row 4000: detections at rows {ed['detection_rows']}, "
          f"River {expected}")
    assert expected and expected[0] >= 4000
    assert ed["detection_rows"] == expected and ed["detections"] == len(expected)
    assert ed["labelled_rows"] == len(rows)
    assert ed["parameters"] == {"delta": CLASSIFICATION.delta,
                                "threshold": CLASSIFICATION.threshold,
                                "min_instances": CLASSIFICATION.min_instances,
                                "alpha": CLASSIFICATION.alpha}


def test_small_read_chunks_give_the_same_rows(tmp_path: Path) -> None:
    """File order across the reader's chunks: chunk offsets added right."""
    model = load_profile(write_profile(make_profile(reference()), tmp_path / "p.json"))
    data, _, _ = _scored_file(tmp_path)
    found = []
    for chunk_rows in (333, 100_000):
        options = BatchOptions(data, "prediction", "label", False, chunk_rows=chunk_rows)
        r = run_batch(model, None, options, Thresholds()).error_drift
        assert r is not None
        found.append(r.rows)
    assert found[0] == found[1] and found[0]


def test_regression_config_parameters_and_prometheus_count(tmp_path: Path) -> None:
    rng = np.random.default_rng(21)
    n = 5000
    truth = rng.normal(50, 5, n)
    noise = np.concatenate([rng.normal(0, 1.0, 3000), rng.normal(0, 2.0, 2000)])
    pred = truth + noise
    ref = reference()
    ref["prediction"] = rng.normal(50, 5, len(ref["x"])).tolist()
    profile = write_profile(make_profile(ref), tmp_path / "profile.json")
    data = write_csv(tmp_path / "reg.csv", {
        "x": rng.normal(0, 1, n).tolist(), "y": rng.exponential(2.0, n).tolist(),
        "color": rng.choice(["red", "green"], n).tolist(),
        "prediction": pred.tolist(), "label": truth.tolist()})
    cfg = write_config(tmp_path / "mlmon.yaml", "min_samples: 100", "kind: regression")
    params = PageHinkleyParams(0.4, 15.0, 50, 1.0)
    cfg.write_text(cfg.read_text() + "    error_drift: {delta: 0.4, threshold: 15, "
                   "min_instances: 50}\n")
    # the CSV stores repr(float), which reads back exactly
    errors = [abs(t - p) for t, p in zip(truth.tolist(), pred.tolist(), strict=True)]
    expected = normalised_river(errors, params)
    report = run_json(profile, data, "--config", str(cfg))
    ed = report["error_drift"]
    print(f"batch regression, MAE x2 at row 3000: detections at {ed['detection_rows']}, "
          f"River {expected}")
    assert expected and expected[0] >= 3000
    assert ed["detection_rows"] == expected
    assert ed["parameters"]["threshold"] == 15.0 and ed["parameters"]["min_instances"] == 50
    assert REGRESSION.threshold != 15.0  # the config's value, not the default
    out = tmp_path / "reg.prom"
    assert main(["batch", "--profile", str(profile), "--input", str(data), "--config",
                 str(cfg), "--format", "prometheus", "--out", str(out)]) == 0
    samples = {(s.name, s.labels.get("detector")): s.value
               for f in text_string_to_metric_families(out.read_text()) for s in f.samples}
    assert samples[("mlmon_error_drift_detections_total", "page_hinkley")] == len(expected)
    assert samples[("mlmon_error_drift_threshold", "page_hinkley")] == 15.0


def test_error_drift_off_in_the_config_leaves_it_out(tmp_path: Path) -> None:
    profile = write_profile(make_profile(reference()), tmp_path / "profile.json")
    data, _, _ = _scored_file(tmp_path, n=1500, change=1000)
    cfg = write_config(tmp_path / "mlmon.yaml", "min_samples: 100")
    cfg.write_text(cfg.read_text() + "    error_drift: {enabled: false}\n")
    assert run_json(profile, data, "--config", str(cfg))["error_drift"] is None
    assert run_json(profile, data)["error_drift"] is not None
