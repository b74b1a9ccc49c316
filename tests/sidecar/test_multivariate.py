"""Multivariate drift in a real sidecar: a profile built by `mlmon profile build`, events
posted to `mlmon serve`, and /metrics' reconstruction error and band against a numpy
computation written here from the profile's section and the same events; /v1/status and
the status page show them; `promtool check metrics` accepts the scrape."""

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

from tests.oracle import correlated_rows, pca_error_band
from tests.procs import post_events, require_binary, serving

MLMON = [sys.executable, "-m", "exporter"]
NAMES = ("mlmon_reconstruction_error", "mlmon_reconstruction_error_upper",
         "mlmon_reconstruction_error_lower")
CONFIG = """
compute_interval: 1s
models:
  - name: cc
    version: "1"
    prediction: {kind: regression}
    features: {a: numeric, b: numeric, c: numeric, city: categorical}
    window: {size: 5000}
    thresholds: {min_samples: 200}
    multivariate: {sigmas: 3}
  - name: one
    version: "1"
    prediction: {kind: regression}
    features: {a: numeric, city: categorical}
"""


def _scrape(url: str) -> tuple[str, dict[tuple[str, str], float]]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out = {}
    for fam in parse_text(text):
        for s in fam.samples:
            if s.name in NAMES or s.name == "mlmon_window_samples":
                out[(s.name, s.labels["model"])] = s.value
    return text, out


def _wait(url: str, n: int) -> tuple[str, dict[tuple[str, str], float]]:
    deadline = time.monotonic() + 30
    while True:
        text, got = _scrape(url)
        if got.get(("mlmon_window_samples", "cc")) == n and ("mlmon_reconstruction_error",
                                                              "cc") in got:
            return text, got
        assert time.monotonic() < deadline, got
        time.sleep(0.2)


def test_real_sidecar_exports_the_numpy_error_and_band(tmp_path: Path) -> None:
    cfg = tmp_path / "mlmon.yaml"
    cfg.write_text(CONFIG.replace("multivariate: {sigmas: 3}",
                                  "multivariate: {sigmas: 3}\n    profile: cc.json"))
    rng = np.random.default_rng(21)
    ref = correlated_rows(rng, 6_000, 0.8)
    csv = tmp_path / "ref.csv"
    csv.write_text("a,b,c,city,prediction\n" + "".join(
        f"{a!r},{b!r},{c!r},x,1.0\n" for a, b, c in ref.tolist()))
    build = subprocess.run([*MLMON, "profile", "build", "--config", str(cfg), "--model", "cc",
                            "--input", str(csv), "--out", str(tmp_path / "cc.json")],
                           capture_output=True, text=True, timeout=120, check=False)
    assert build.returncode == 0, build.stderr
    section = json.loads((tmp_path / "cc.json").read_text())["multivariate"]
    assert section["features"] == ["a", "b", "c"] and section["error_rows"] == 3_000
    # 1,000 events with the correlation reversed; every 10th leaves out b (imputed)
    cur = correlated_rows(np.random.default_rng(22), 1_000, -0.8)
    lines = []
    for i, (a, b, c) in enumerate(cur.tolist()):
        feats: dict[str, Any] = {"a": a, "c": c, "city": "x"}
        if i % 10:
            feats["b"] = b
        else:
            cur[i, 1] = np.nan
        lines.append(json.dumps({"v": 1, "model": "cc", "id": f"r{i}", "features": feats,
                                 "prediction": 1.0}))
    lines += [json.dumps({"v": 1, "model": "one", "id": f"o{i}",
                          "features": {"a": 1.0 * i, "city": "x"}, "prediction": 1.0})
              for i in range(300)]
    argv = [*MLMON, "serve", "--config", str(cfg), "--socket", str(tmp_path / "s.sock"),
            "--http", "127.0.0.1:0"]
    with serving(argv, tmp_path / "serve.log", "/readyz") as served:
        status, answer = post_events(served.url + "/v1/events", lines)
        assert status == 202 and answer["accepted"] == len(lines), answer
        text, got = _wait(served.url, 1_000)
        with urllib.request.urlopen(served.url + "/v1/status", timeout=10) as resp:
            models = {m["model"]: m for m in json.loads(resp.read())["models"]}
        with urllib.request.urlopen(served.url + "/", timeout=10) as resp:
            page = resp.read().decode()
    err, lower, upper = pca_error_band(section, cur)
    print(f"\nsidecar: error {got[('mlmon_reconstruction_error', 'cc')]:.5f} band "
          f"[{got[('mlmon_reconstruction_error_lower', 'cc')]:.5f}, "
          f"{got[('mlmon_reconstruction_error_upper', 'cc')]:.5f}]; numpy: error {err:.5f} "
          f"band [{lower:.5f}, {upper:.5f}]")
    assert got[("mlmon_reconstruction_error", "cc")] == pytest.approx(err, rel=1e-9)
    assert got[("mlmon_reconstruction_error_upper", "cc")] == pytest.approx(upper, rel=1e-9)
    assert got[("mlmon_reconstruction_error_lower", "cc")] == pytest.approx(lower, rel=1e-9)
    assert err > upper  # the reversed correlation is outside the band
    assert not any(k[1] == "one" and k[0] in NAMES for k in got)  # one numeric feature
    mv = models["cc"]["multivariate"]
    assert mv["error"] == pytest.approx(err, rel=1e-9) and mv["outside"] is True
    assert mv["samples"] == 1_000 and mv["components"] == len(section["components"])
    assert "at least two numeric features" in models["one"]["multivariate"]["note"]
    assert "Multivariate drift" in page and 'class="multivariate"' in page
    lint = subprocess.run([require_binary("promtool"), "check", "metrics"], input=text,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")
