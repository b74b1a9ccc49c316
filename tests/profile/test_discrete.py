"""Discrete numeric features in a built profile: one bin per value, through the CLI too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.cli import main
from exporter.config.model import FeatureConfig, ModelConfig, PredictionConfig
from exporter.profile.build import build_profile
from exporter.profile.files import load_profile
from exporter.profile.model import NumericProfile
from exporter.stats.psi import EPSILON

LEVELS = np.arange(1.0, 6.0)

CONFIG = """\
models:
  - name: m
    version: "1"
    prediction: {kind: regression}
    features:
      rating: numeric
      amount: numeric
"""


def ratings(rng: np.random.Generator, n: int, p: list[float]) -> Any:
    return rng.choice(LEVELS, n, p=p)


def hand_psi(ref: Any, cur: Any) -> float:
    """PSI over the per-value frequencies, floored at EPSILON and renormalised."""
    r = np.maximum([np.mean(ref == v) for v in LEVELS], EPSILON)
    c = np.maximum([np.mean(cur == v) for v in LEVELS], EPSILON)
    r, c = r / r.sum(), c / c.sum()
    return float(np.sum((c - r) * np.log(c / r)))


def test_a_value_too_rare_to_be_sampled_still_gets_its_own_bin(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    n = 30_000
    rating = ratings(rng, n, [0.2, 0.3, 0.3, 0.2, 0.0])
    rating[[17, 20_001, 29_998]] = 5.0  # 3 rows in 30,000: a 500-value sample misses them
    path = tmp_path / "ref.csv"
    pacsv.write_csv(pa.table({"rating": rating, "prediction": rng.random(n)}), path)
    cfg = ModelConfig(name="m", version="1", prediction=PredictionConfig("regression"),
                      features=(FeatureConfig("rating", "numeric"),), sample_size=500)
    f = build_profile(cfg, path, chunk_rows=4096).feature("rating")
    assert isinstance(f, NumericProfile)
    assert 5.0 not in f.sample
    assert f.edges == (1.5, 2.5, 3.5, 4.5)
    assert list(f.counts) == [int(np.sum(rating == v)) for v in LEVELS]
    assert f.counts[-1] == 3


def test_cli_build_then_batch_shows_one_bucket_per_value(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    ref = ratings(rng, 6_000, [0.1, 0.3, 0.3, 0.2, 0.1])
    cur = ratings(rng, 2_000, [0.2, 0.3, 0.25, 0.15, 0.1])
    for name, rating in (("ref", ref), ("cur", cur)):
        pacsv.write_csv(pa.table({"rating": rating.astype(np.int64),  # an integer column
                                  "amount": rng.lognormal(3, 1, rating.size),
                                  "prediction": rng.random(rating.size)}),
                        tmp_path / f"{name}.csv")
    (tmp_path / "mlmon.yaml").write_text(CONFIG, encoding="utf-8")
    profile = tmp_path / "profile.json"
    assert main(["profile", "build", "--config", str(tmp_path / "mlmon.yaml"), "--model", "m",
                 "--input", str(tmp_path / "ref.csv"), "--out", str(profile)]) == 0
    f = load_profile(profile).feature("rating")
    assert isinstance(f, NumericProfile) and f.edges == (1.5, 2.5, 3.5, 4.5)

    prom, report = tmp_path / "batch.prom", tmp_path / "batch.json"
    for fmt, out in (("prometheus", prom), ("json", report)):
        assert main(["batch", "--profile", str(profile), "--input", str(tmp_path / "cur.csv"),
                     "--format", fmt, "--out", str(out)]) == 0
    ratios = {s.labels["bucket"]: s.value
              for fam in text_string_to_metric_families(prom.read_text())
              for s in fam.samples
              if s.name == "mlmon_feature_reference_ratio" and s.labels["feature"] == "rating"}
    assert list(ratios) == ["1.5", "2.5", "3.5", "4.5", "+Inf"]
    np.testing.assert_allclose(list(ratios.values()), [np.mean(ref == v) for v in LEVELS],
                               rtol=1e-12)
    rating = next(x for x in json.loads(report.read_text())["features"]
                  if x["name"] == "rating")
    assert rating["psi"] == pytest.approx(hand_psi(ref, cur), rel=1e-9)
