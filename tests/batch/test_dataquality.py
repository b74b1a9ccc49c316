"""`mlmon batch` data quality: a profile built by `mlmon profile build`, a current file with
missing, out-of-range and unseen values; JSON (file and chunks), text, HTML and the
Prometheus format against pandas on the same files; merge() is exact over any split."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.batch.dataquality import DataQualityCollector
from exporter.config.model import QualityConfig
from exporter.profile.files import load_profile
from exporter.readers.chunks import cut_rows, read_chunks
from tests.procs import require_binary

MLMON = [sys.executable, "-m", "exporter"]
CHUNK = 700


def _write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def _reference(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(21)
    x = pd.Series(rng.normal(10.0, 2.0, n)).mask(rng.random(n) < 0.25)
    color = pd.Series(rng.choice(["a", "b", "c", "d"], n, p=[0.5, 0.25, 0.15, 0.1])) \
        .mask(rng.random(n) < 0.04)
    return pd.DataFrame({"x": x, "color": color, "prediction": rng.random(n)})


def _current(n: int = 2000) -> pd.DataFrame:
    """The first 1000 rows like the reference; then x half missing, shifted out of range,
    and a new colour e."""
    rng = np.random.default_rng(22)
    x = np.r_[rng.normal(10.0, 2.0, 1000), rng.normal(14.0, 3.0, n - 1000)]
    gone = np.r_[rng.random(1000) < 0.25, rng.random(n - 1000) < 0.5]
    color = np.r_[rng.choice(["a", "b", "c", "d"], 1000, p=[0.5, 0.25, 0.15, 0.1]),
                  rng.choice(["a", "b", "e"], n - 1000, p=[0.4, 0.3, 0.3])]
    return pd.DataFrame({"x": pd.Series(x).mask(gone),
                         "color": pd.Series(color).mask(rng.random(n) < 0.04),
                         "prediction": rng.random(n)})


CONFIG = """models:
  - name: m
    version: "1"
    prediction: {kind: classification, classes: ["0", "1"]}
    features: {x: numeric, color: categorical}
    max_categories: 3
    thresholds: {min_samples: 500}
    quality:
      features: {color: {unseen_category_ratio_max: 0.05}}
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("dq")
    ref, cur = _reference(), _current()
    cfg = tmp / "mlmon.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    _write(tmp / "reference.csv", ref)
    _write(tmp / "current.csv", cur)
    built = subprocess.run([*MLMON, "profile", "build", "--config", str(cfg), "--model", "m",
                            "--input", str(tmp / "reference.csv"), "--out",
                            str(tmp / "profile.json")],
                           capture_output=True, text=True, timeout=120, check=False)
    assert built.returncode == 0, built.stderr
    return {"tmp": tmp, "ref": pd.read_csv(tmp / "reference.csv"),
            "cur": pd.read_csv(tmp / "current.csv"), "cfg": cfg}


def _batch(files: dict[str, Any], fmt: str, *extra: str) -> str:
    tmp = files["tmp"]
    out = subprocess.run([*MLMON, "batch", "--profile", str(tmp / "profile.json"), "--input",
                          str(tmp / "current.csv"), "--config", str(files["cfg"]),
                          "--format", fmt, *extra],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _oracle(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, dict[str, float]]:
    """pandas: ratios and limits (reference ratio + limit) of x and color."""
    lo, hi = ref["x"].min(), ref["x"].max()
    x = cur["x"].dropna()
    kept = set(ref["color"].value_counts().index[:3])  # max_categories 3: a, b, c
    colors = cur["color"].dropna()
    ref_colors = ref["color"].dropna()
    return {
        "x": {"missing_ratio": cur["x"].isna().mean(),
              "out_of_range_ratio": ((x < lo) | (x > hi)).mean(),
              "missing_limit": ref["x"].isna().mean() + 0.05, "out_of_range_limit": 0.01},
        "color": {"missing_ratio": cur["color"].isna().mean(),
                  "unseen_category_ratio": (~colors.isin(kept)).mean(),
                  "missing_limit": ref["color"].isna().mean() + 0.05,
                  "unseen_category_limit": (~ref_colors.isin(kept)).mean() + 0.05},
    }


def _compare(got: list[dict[str, Any]], want: dict[str, dict[str, float]], what: str) -> None:
    by_name = {g["name"]: g for g in got}
    for name, values in want.items():
        g = by_name[name]
        for key, value in values.items():
            measure, _, part = key.rpartition("_")
            v = g["limits"][measure] if part == "limit" else g[key]
            print(f"  {what} {name} {key}: batch {v:.6f} pandas {value:.6f}")
            assert v == pytest.approx(float(value), rel=1e-12, abs=1e-15), (what, name, key)


def test_json_file_and_chunks_match_pandas(files: dict[str, Any]) -> None:
    report = json.loads(_batch(files, "json", "--chunk-size", str(CHUNK)))
    ref, cur = files["ref"], files["cur"]
    print("\nbatch data quality vs pandas")
    _compare(report["data_quality"], _oracle(ref, cur), "file")
    for chunk in report["chunks"]:
        part = cur.iloc[chunk["first_row"]:chunk["first_row"] + chunk["rows"]]
        _compare(chunk["data_quality"], _oracle(ref, part), f"chunk {chunk['index']}")
    dq = {g["name"]: g for g in report["data_quality"]}
    assert dq["x"]["exceeded"] == ["missing", "out_of_range"]
    # d is lumped (about 10 % of the reference): its share is in the limit (10 % + 5 %)
    assert dq["color"]["exceeded"] == ["unseen_category"]  # d and, from row 1000, e
    assert report["chunks"][0]["data_quality"][1]["exceeded"] == []  # d only: within
    verdicts = [c["data_quality"][0]["exceeded"] for c in report["chunks"]]
    # chunk 0 is like the reference, chunk 1 straddles the change, the last (600 rows) too
    assert verdicts[0] == [] and verdicts[2] == ["missing", "out_of_range"]
    assert report["chunks"][-1]["rows"] == 600 and verdicts[-1] == ["missing", "out_of_range"]


def test_text_html_and_prometheus_formats(files: dict[str, Any]) -> None:
    want = _oracle(files["ref"], files["cur"])
    text = _batch(files, "text", "--chunk-size", str(CHUNK))
    x = want["x"]
    assert (f"data quality: x missing ratio {x['missing_ratio']:.2%} above its limit "
            f"{x['missing_limit']:.2%}") in text
    assert "data quality (chunk 2): x out_of_range ratio" in text
    assert "data quality (chunk 0)" not in text  # the undisturbed chunk passes
    html = _batch(files, "html")
    assert "<h2>Data quality</h2>" in html and f"{x['out_of_range_ratio']:.2%}" in html
    prom = _batch(files, "prometheus")
    values = {(s.name, s.labels["feature"], s.labels.get("measure", "")): s.value
              for fam in parse_text(prom) for s in fam.samples if "feature" in s.labels}
    assert values[("mlmon_feature_missing_ratio", "x", "")] == \
        pytest.approx(x["missing_ratio"], rel=1e-12)
    assert values[("mlmon_feature_unseen_category_ratio", "color", "")] == \
        pytest.approx(want["color"]["unseen_category_ratio"], rel=1e-12)
    assert values[("mlmon_feature_quality_limit_ratio", "color", "unseen_category")] == \
        pytest.approx(want["color"]["unseen_category_limit"], rel=1e-12)
    lint = subprocess.run([require_binary("promtool"), "check", "metrics"], input=prom,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")


def test_merge_of_any_split_equals_one_pass(files: dict[str, Any]) -> None:
    profile = load_profile(files["tmp"] / "profile.json")
    quality = QualityConfig()
    columns = {"x": "numeric", "color": "categorical"}
    (chunk,) = list(read_chunks(files["tmp"] / "current.csv", columns, chunk_rows=10_000))
    whole = DataQualityCollector(profile, quality)
    whole.update(chunk)
    rng = np.random.default_rng(5)
    for _ in range(5):
        cuts = sorted(rng.choice(np.arange(1, chunk.rows), 3, replace=False).tolist())
        parts = []
        for a, b in zip([0, *cuts], [*cuts, chunk.rows], strict=True):
            acc = DataQualityCollector(profile, quality)
            acc.update(cut_rows(chunk, a, b))
            parts.append(acc)
        merged = parts[0]
        for p in parts[1:]:
            merged.merge(p)
        assert merged.result() == whole.result()
    assert whole.result()[0].counts.rows == 2000
