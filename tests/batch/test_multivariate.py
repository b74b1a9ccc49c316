"""`mlmon batch` reports the PCA reconstruction error of the file and of each chunk, each
with the band for its own row count, against a numpy computation written here from the
profile's section; the collector's merge of any split equals one pass (bit for bit); the
Prometheus output passes `promtool check metrics`."""

from __future__ import annotations

import json
import subprocess
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.batch.multivariate import MultivariateCollector
from exporter.cli import main
from exporter.profile.files import load_profile
from exporter.readers.chunks import Chunk
from tests.oracle import correlated_rows, pca_error_band
from tests.procs import require_binary

CONFIG = """models:
  - name: cc
    version: "1"
    prediction: {kind: regression}
    features: {a: numeric, b: numeric, c: numeric, city: categorical}
    thresholds: {min_samples: 300}
    multivariate: {sigmas: 3}
"""


def _csv(path: Path, x: np.ndarray[Any, Any]) -> Path:
    cells = [["" if np.isnan(v) else repr(float(v)) for v in row] for row in x]
    path.write_text("a,b,c,city,prediction\n" + "".join(
        f"{a},{b},{c},x,1.0\n" for a, b, c in cells))
    return path


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, dict[str, Any], np.ndarray[Any, Any], Path]:
    cfg = tmp_path / "mlmon.yaml"
    cfg.write_text(CONFIG)
    ref = _csv(tmp_path / "ref.csv", correlated_rows(np.random.default_rng(31), 6_000, 0.8))
    profile = tmp_path / "cc.json"
    assert main(["profile", "build", "--config", str(cfg), "--model", "cc", "--input",
                 str(ref), "--out", str(profile)]) == 0
    section = json.loads(profile.read_text())["multivariate"]
    rng = np.random.default_rng(32)
    cur = np.vstack([correlated_rows(rng, 1_000, 0.8), correlated_rows(rng, 1_000, -0.8)])
    cur[::17, 2] = np.nan  # missing values: imputed with the reference mean
    return cfg, profile, section, cur, _csv(tmp_path / "cur.csv", cur)


def test_file_and_chunks_equal_numpy_with_their_own_bands(
        setup: tuple[Path, Path, dict[str, Any], np.ndarray[Any, Any], Path]) -> None:
    cfg, profile, section, cur, csv = setup
    out = csv.with_name("report.json")
    assert main(["batch", "--profile", str(profile), "--input", str(csv), "--config", str(cfg),
                 "--format", "json", "--out", str(out), "--chunk-size", "700"]) == 0
    report = json.loads(out.read_text())
    got = report["multivariate"]
    err, lo, hi = pca_error_band(section, cur)
    assert (got["reconstruction_error"], got["lower"], got["upper"]) == pytest.approx(
        (err, lo, hi), rel=1e-12)
    assert got["rows"] == 2_000 and got["outside"] is (not lo <= err <= hi)
    outside = []
    for chunk, (a, b) in zip(report["chunks"], [(0, 700), (700, 1400), (1400, 2000)],
                             strict=True):
        c = chunk["multivariate"]
        e, lo, hi = pca_error_band(section, cur[a:b])
        assert (c["reconstruction_error"], c["lower"], c["upper"]) == pytest.approx(
            (e, lo, hi), rel=1e-12)
        assert c["rows"] == b - a
        outside.append(c["outside"])
        print(f"chunk rows {a}-{b}: error {e:.4f} band [{lo:.4f}, {hi:.4f}]")
    # 700 and 600 rows: different bands; the unchanged first chunk is inside, the
    # reversed-correlation last chunk outside
    assert report["chunks"][0]["multivariate"]["upper"] != \
        report["chunks"][2]["multivariate"]["upper"]
    assert outside[0] is False and outside[2] is True


def test_text_html_and_prometheus_outputs(
        setup: tuple[Path, Path, dict[str, Any], np.ndarray[Any, Any], Path]) -> None:
    cfg, profile, section, cur, csv = setup
    base = ["batch", "--profile", str(profile), "--input", str(csv), "--config", str(cfg),
            "--chunk-size", "700"]
    paths = {fmt: csv.with_name(f"report.{fmt}") for fmt in ("text", "html", "prometheus")}
    for fmt, path in paths.items():
        assert main([*base, "--format", fmt, "--out", str(path)]) == 0
    text = paths["text"].read_text()
    assert "multivariate drift: reconstruction error" in text
    assert "multivariate drift (chunk 2): reconstruction error" in text
    assert "multivariate drift (chunk 0)" not in text  # inside its band: not listed
    html = paths["html"].read_text()
    assert "<h2>Multivariate drift</h2>" in html and "chunk 2" in html
    prom = paths["prometheus"].read_text()
    err, lo, hi = pca_error_band(section, cur)
    values = {s.name: s.value for f in parse_text(prom) for s in f.samples
              if s.name.startswith("mlmon_reconstruction_error")}
    assert values == pytest.approx({"mlmon_reconstruction_error": err,
                                    "mlmon_reconstruction_error_lower": lo,
                                    "mlmon_reconstruction_error_upper": hi}, rel=1e-12)
    lint = subprocess.run([require_binary("promtool"), "check", "metrics"], input=prom,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")


def test_below_min_samples_no_result(
        setup: tuple[Path, Path, dict[str, Any], np.ndarray[Any, Any], Path]) -> None:
    cfg, profile, _, cur, csv = setup
    small = _csv(csv.with_name("small.csv"), cur[:299])
    out = csv.with_name("small.json")
    assert main(["batch", "--profile", str(profile), "--input", str(small), "--config",
                 str(cfg), "--format", "json", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["multivariate"] is None


def test_merge_of_any_split_equals_one_pass(
        setup: tuple[Path, Path, dict[str, Any], np.ndarray[Any, Any], Path]) -> None:
    _, profile, _, cur, _ = setup
    model = load_profile(profile).multivariate
    assert model is not None

    def chunk(a: int, b: int) -> Chunk:
        return Chunk(a, b - a, {"a": cur[a:b, 0], "b": cur[a:b, 1], "c": cur[a:b, 2]}, {}, {})

    whole = MultivariateCollector(model, 3.0, 1)
    for a in range(0, 2_000, 512):
        whole.update(chunk(a, min(a + 512, 2_000)))
    expected = whole.result()
    rng = np.random.default_rng(4)
    for trial in range(8):
        cuts = [0, *sorted(rng.choice(np.arange(1, 2_000), trial + 1, replace=False)), 2_000]
        parts = []
        for a, b in pairwise(cuts):
            part = MultivariateCollector(model, 3.0, 1)
            part.update(chunk(int(a), int(b)))
            parts.append(part)
        merged = parts[0]
        for p in parts[1:]:
            merged.merge(p)
        assert merged.result() == expected  # bit-equal floats
