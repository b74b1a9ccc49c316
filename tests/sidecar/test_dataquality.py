"""Data quality in a real sidecar: a profile built by `mlmon profile build` from a reference with
missing values and a category beyond max_categories, a real `mlmon serve` fed events with null,
absent, out-of-range and unseen values; its /metrics against numpy on the same events and
reference, and linted by the real ``promtool check metrics``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from tests.procs import post_events, require_binary, serving

MLMON = [sys.executable, "-m", "exporter"]
WINDOW = 1000
RATIOS = ("mlmon_feature_missing_ratio", "mlmon_feature_out_of_range_ratio",
          "mlmon_feature_unseen_category_ratio")


def _reference(path: Path, n: int = 2000) -> dict[str, Any]:
    """x ~ N(0, 1) with 20 % empty cells; color a/b/c/d (40/30/20/10 %), 5 % empty."""
    rng = np.random.default_rng(11)
    x = rng.normal(0.0, 1.0, n)
    x_missing = rng.random(n) < 0.2
    color = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    color_missing = rng.random(n) < 0.05
    score = rng.random(n)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("x,color,prediction\n")
        for i in range(n):
            fh.write(f"{'' if x_missing[i] else repr(float(x[i]))},"
                     f"{'' if color_missing[i] else color[i]},{score[i]!r}\n")
    return {"x": np.where(x_missing, np.nan, x), "color": color, "color_missing": color_missing}


def _config(tmp: Path, profile: Path | None) -> Path:
    path = tmp / "mlmon.yaml"
    line = f"    profile: {profile}\n" if profile is not None else ""
    path.write_text(f"""compute_interval: 1s
models:
  - name: m
    version: "1"
    prediction: {{kind: classification, classes: ["0", "1"]}}
    features: {{x: numeric, color: categorical}}
    max_categories: 3
    window: {{size: {WINDOW}}}
    thresholds: {{min_samples: 600}}
    quality:
      missing_ratio_max: 0.05
      features: {{color: {{missing_ratio_max: 0.2}}}}
{line}""", encoding="utf-8")
    return path


def _events(n: int) -> tuple[list[str], np.ndarray, list[str | None]]:
    """x ~ N(0.5, 1.5), 15 % null and 15 % absent; color from a..e, 10 % null, 10 % absent."""
    rng = np.random.default_rng(12)
    x = rng.normal(0.5, 1.5, n)
    xs = rng.random(n)
    colors = rng.choice(["a", "b", "c", "d", "e"], n, p=[0.3, 0.3, 0.2, 0.1, 0.1])
    cs = rng.random(n)
    lines, xv, cv = [], np.full(n, np.nan), []
    for i in range(n):
        feats: dict[str, Any] = {}
        if xs[i] >= 0.3:
            feats["x"] = float(x[i])
            xv[i] = x[i]
        elif xs[i] < 0.15:
            feats["x"] = None
        c: str | None = None
        if cs[i] >= 0.2:
            c = feats["color"] = str(colors[i])
        elif cs[i] < 0.1:
            feats["color"] = None
        cv.append(c)
        lines.append(json.dumps({"v": 1, "model": "m", "version": "1", "features": feats,
                                 "prediction": 0.3}))
    return lines, xv, cv


def _scrape(url: str) -> tuple[str, dict[tuple[str, str, str], float]]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[tuple[str, str, str], float] = {}
    for fam in parse_text(text):
        for s in fam.samples:
            if s.labels.get("model") == "m" and "feature" in s.labels:
                out[(s.name, s.labels["feature"], s.labels.get("measure", ""))] = s.value
    return text, out


def _window(url: str, n: int) -> tuple[str, dict[tuple[str, str, str], float]]:
    deadline = time.monotonic() + 30
    while True:
        text, got = _scrape(url)
        if f'mlmon_window_samples{{model="m",version="1"}} {float(n)}' in text and \
                ("mlmon_feature_missing_ratio", "x", "") in got:
            return text, got
        assert time.monotonic() < deadline, "window never filled"
        time.sleep(0.2)


def test_real_sidecar_quality_ratios_match_numpy(tmp_path: Path) -> None:
    ref = _reference(tmp_path / "reference.csv")
    cfg = _config(tmp_path, None)
    profile = tmp_path / "profile.json"
    built = subprocess.run([*MLMON, "profile", "build", "--config", str(cfg), "--model", "m",
                            "--input", str(tmp_path / "reference.csv"), "--out", str(profile)],
                           capture_output=True, text=True, timeout=120, check=False)
    assert built.returncode == 0, built.stderr
    cfg = _config(tmp_path, profile)
    lines, xv, cv = _events(1500)
    argv = [*MLMON, "serve", "--config", str(cfg), "--socket", str(tmp_path / "s.sock"),
            "--http", "127.0.0.1:0"]
    with serving(argv, tmp_path / "serve.log", "/readyz") as served:
        status, answer = post_events(served.url + "/v1/events", lines[:500])
        assert status == 202 and answer["accepted"] == 500, answer
        text, below = _window_or_limits(served.url)
        # below min_samples (600): the limits are there, the ratios are not
        assert not [k for k in below if k[0] in RATIOS]
        for k in range(500, 1500, 500):
            status, answer = post_events(served.url + "/v1/events", lines[k:k + 500])
            assert status == 202 and answer["accepted"] == 500, answer
        text, got = _window(served.url, WINDOW)
        with urllib.request.urlopen(served.url + "/v1/status", timeout=10) as resp:
            status = json.loads(resp.read())["models"][0]["data_quality"]
        with urllib.request.urlopen(served.url + "/", timeout=10) as resp:
            page = resp.read().decode()
    # the oracle: numpy over the window's events (the last WINDOW) and the reference data
    x, colors = xv[-WINDOW:], cv[-WINDOW:]
    rx = ref["x"]
    lo, hi = np.nanmin(rx), np.nanmax(rx)
    present = x[~np.isnan(x)]
    kept = {"a", "b", "c"}  # max_categories 3: the three most frequent; d is lumped
    seen = [c for c in colors if c is not None]
    ref_colors = ref["color"][~ref["color_missing"]]
    expected = {
        ("mlmon_feature_missing_ratio", "x", ""): np.isnan(x).mean(),
        ("mlmon_feature_out_of_range_ratio", "x", ""): ((present < lo) | (present > hi)).mean(),
        ("mlmon_feature_missing_ratio", "color", ""): colors.count(None) / WINDOW,
        ("mlmon_feature_unseen_category_ratio", "color", ""):
            sum(c not in kept for c in seen) / len(seen),
        ("mlmon_feature_samples", "x", ""): len(present),
        ("mlmon_feature_samples", "color", ""): len(seen),
        ("mlmon_feature_quality_limit_ratio", "x", "missing"): np.isnan(rx).mean() + 0.05,
        ("mlmon_feature_quality_limit_ratio", "x", "out_of_range"): 0.01,
        ("mlmon_feature_quality_limit_ratio", "color", "missing"):
            ref["color_missing"].mean() + 0.2,
        ("mlmon_feature_quality_limit_ratio", "color", "unseen_category"):
            (ref_colors == "d").mean() + 0.01,
    }
    print("\nmeasure: sidecar vs numpy")
    for key, value in expected.items():
        print(f"  {key[0]}{{{key[1]},{key[2]}}}: {got.get(key)} vs {value:.6f}")
        assert got.get(key) == pytest.approx(float(value), rel=1e-12, abs=1e-15), key
    # each measure is clearly away from 0 and 1: the test tells a wrong count apart
    assert all(0.02 < got[k] < 0.5 for k in expected if k[0] in RATIOS)
    assert not [k for k in got if k[0] in RATIOS and k[1] == "__prediction__"]
    # the verdicts: color's missing ratio (20.3 %) is within its override (reference 4.9 %
    # + 20 %); with the model's 5 % it would fail
    exceeded = {q["name"]: q["exceeded"] for q in status}
    assert exceeded == {"x": ["missing", "out_of_range"], "color": ["unseen_category"]}
    assert status[0]["missing"] == int(np.isnan(x).sum()) and status[0]["rows"] == WINDOW
    assert "x missing, x out_of_range, color unseen_category" in page
    # series count: 4 per feature (missing, one value ratio, their two limits), docs/retention.md
    quality = [k for k in got if k[0] in RATIOS or k[0] == "mlmon_feature_quality_limit_ratio"]
    print(f"  data-quality series for 2 features: {len(quality)}")
    assert len(quality) == 8
    lint = subprocess.run([require_binary("promtool"), "check", "metrics"], input=text,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")


def _window_or_limits(url: str) -> tuple[str, dict[tuple[str, str, str], float]]:
    deadline = time.monotonic() + 30
    while True:
        text, got = _scrape(url)
        if 'mlmon_window_samples{model="m",version="1"} 500.0' in text:
            return text, got
        assert time.monotonic() < deadline, "500 events never counted"
        time.sleep(0.2)
