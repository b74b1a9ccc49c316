"""`mlmon batch` per segment: rows, max PSI (numpy from the same counts), drift share, accuracy
and MAE against numpy; the collector's merge over any split equals one pass; every format,
and promtool lints the Prometheus output."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from exporter.batch.perf import Task
from exporter.batch.segments import SegmentCollector
from exporter.config.load import load_config
from exporter.metric_names import OTHER_BUCKET
from exporter.profile.files import load_profile
from exporter.readers.chunks import read_chunks
from tests.procs import require_binary
from tests.sidecar.test_segments import SEGMENTS, _current, _oracle_max_psi, _rows, _segment_of
from tests.sidecar.test_segments import _setup as _setup_model

MLMON = [sys.executable, "-m", "exporter"]


def _files(tmp: Path, kind: str = "classification") -> tuple[Path, Path, dict[str, list[Any]]]:
    cfg, _ = _setup_model(tmp, kind)
    cur = _current(3000)
    if kind == "regression":
        rng = np.random.default_rng(4)
        cur["label"] = (np.array(cur["prediction"]) + rng.normal(0, 0.1, 3000)
                        + np.where(np.array(cur["country"], dtype=object) == "US", 0.5, 0.0)
                        ).tolist()
    pacsv.write_csv(pa.table(cur), tmp / "cur.csv")
    return cfg, tmp / "cur.csv", cur


def _batch(cfg: Path, data: Path, tmp: Path, fmt: str) -> str:
    out = subprocess.run([*MLMON, "batch", "--profile", str(tmp / "profile.json"), "--input",
                          str(data), "--config", str(cfg), "--format", fmt],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_batch_segments_equal_numpy(tmp_path: Path) -> None:
    cfg, data, cur = _files(tmp_path)
    profile = load_profile(tmp_path / "profile.json")
    doc = json.loads(_batch(cfg, data, tmp_path, "json"))
    got = {s["segment"]: s for s in doc["segments"]}
    assert list(got) == SEGMENTS and all(s["feature"] == "country" for s in got.values())
    ref = _rows(8000, 1)
    segs = _segment_of(cur["country"])
    cls = (np.array(cur["prediction"]) >= 0.5).astype(int)
    y = np.array(cur["label"])
    print()
    for seg in SEGMENTS:
        m = segs == seg
        psi, feature = _oracle_max_psi(ref, cur, profile, seg)
        s = got[seg]
        assert s["rows"] == int(m.sum())
        assert s["max_psi"] == pytest.approx(psi, rel=1e-9)
        assert s["max_psi_feature"] == feature
        assert s["labelled"] == int(m.sum())
        assert s["accuracy"] == pytest.approx(float(np.mean(cls[m] == y[m])), abs=1e-12)
        assert s["mae"] is None
        print(f"batch segment {seg:9} rows {s['rows']:5} max PSI {psi:.4f} ({feature}) "
              f"drift share {s['drift_share']:.3f} accuracy {s['accuracy']:.3f}")
    assert got["FR"]["drift_share"] > 0 and got["FR"]["max_psi_feature"] == "amount"
    assert got["DE"]["drift_share"] == 0.0 and got["US"]["drift_share"] == 0.0
    text = _batch(cfg, data, tmp_path, "text")
    assert "Segments by country:" in text and "FR" in text.split("Segments by country:")[1]
    prom = _batch(cfg, data, tmp_path, "prometheus")
    assert 'mlmon_segment_max_psi{model="m",segment="FR",version="1"}' in prom
    assert 'mlmon_segment_accuracy_ratio{model="m",segment="__other__",version="1"}' in prom
    lint = subprocess.run([require_binary("promtool"), "check", "metrics"], input=prom,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")
    html_out = tmp_path / "r.html"
    subprocess.run([*MLMON, "batch", "--profile", str(tmp_path / "profile.json"), "--input",
                    str(data), "--config", str(cfg), "--html-out", str(html_out)],
                   capture_output=True, timeout=120, check=True)
    assert "<h2>Segments by country</h2>" in html_out.read_text(encoding="utf-8")


def test_batch_regressor_mae_per_segment(tmp_path: Path) -> None:
    cfg, data, cur = _files(tmp_path, "regression")
    doc = json.loads(_batch(cfg, data, tmp_path, "json"))
    got = {s["segment"]: s for s in doc["segments"]}
    segs = _segment_of(cur["country"])
    err = np.abs(np.array(cur["label"]) - np.array(cur["prediction"]))
    for seg in SEGMENTS:
        m = segs == seg
        assert got[seg]["mae"] == pytest.approx(float(np.mean(err[m])), rel=1e-12)
        assert got[seg]["accuracy"] is None
        print(f"batch segment {seg:9} MAE {got[seg]['mae']:.4f}")
    assert got["US"]["mae"] > 0.4


def test_merge_of_any_split_equals_one_pass(tmp_path: Path) -> None:
    cfg, data, _ = _files(tmp_path, "regression")
    model = load_config(cfg, env={}).models[0]
    profile = load_profile(tmp_path / "profile.json")
    one = SegmentCollector.make(profile, model, "prediction", "label")
    assert one is not None
    chunks = list(read_chunks(data, one.columns(), chunk_rows=250))
    for ch in chunks:
        one.update(ch)
    task = Task("regression")
    expected = one.result(model.thresholds, task)
    rng = np.random.default_rng(6)
    for _ in range(4):
        cut = sorted(rng.choice(np.arange(1, len(chunks)), size=3, replace=False).tolist())
        parts = []
        for lo, hi in itertools.pairwise([0, *cut, len(chunks)]):
            part = one.fresh()
            for ch in chunks[lo:hi]:
                part.update(ch)
            parts.append(part)
        rng.shuffle(parts)  # partitions merge in any order
        merged = parts[0]
        for p in parts[1:]:
            merged.merge(p)
        assert merged.result(model.thresholds, task) == expected  # exact, floats included
    assert {r.value for r in expected} == {*SEGMENTS[:-1], OTHER_BUCKET}


def test_a_segments_numeric_drift_comes_from_counts_alone() -> None:
    """A segment's numeric verdict is the binned PSI test on its bucket counts: a segment
    of 10^10 rows costs no more than one of 10^4 (it used to expand the counts into one
    value per row, 80 GB here) and its PSI is the hand-computed one."""
    from exporter.batch.segments import _drift
    from exporter.profile.model import NumericProfile, NumericSummary
    from exporter.stats.thresholds import Thresholds
    from tests.oracle import hand_psi

    summary = NumericSummary(0, 0, 0.0, 0.0, 0.0, 0.0, ())
    f = NumericProfile("x", (1.0, 2.0, 3.0), (10, 10, 10, 10), summary, ())
    ref = np.array([250, 250, 250, 250], dtype=np.int64)
    cur = np.array([4, 3, 2, 1], dtype=np.int64) * 10**9
    d = _drift("x", f, ref, cur, Thresholds())
    assert d.samples == 10**10
    assert d.psi == pytest.approx(hand_psi(ref, cur), rel=1e-12)
    assert d.ks_statistic is None and d.significant and d.severity is not None  # PSI 0.23
