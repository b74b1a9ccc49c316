"""`mlmon init --from train.csv` (issue 16 item 4): each column's inferred role, an mlmon.yaml
the strict loader accepts, a profile, and a real `mlmon serve` running with them."""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from exporter.cli import main
from exporter.commands.init_infer import describe, infer, read_sample
from exporter.config.load import load_config
from exporter.profile.files import load_profile
from exporter.profile.model import CategoricalProfile
from tests.procs import post_events, serving

ROWS = 3000
# The generator below makes each column for a reason; the decision each must get:
EXPECTED = {
    "request_id": "id",             # by name
    "event_time": "timestamp",      # ISO dates/times
    "amount": "numeric",            # floats
    "items": "numeric",             # whole numbers, ~200 distinct
    "rating": "categorical",        # whole numbers 1..5: low cardinality
    "country": "categorical",       # text
    "customer_id": "skipped",       # *_id: identifier-like
    "coupon": "categorical",        # true/false
    "score": "prediction",          # by name (no `prediction` column)
    "target": "label",              # by name
}


def _rows(seed: int, n: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(3.0, 0.8, n), 2)
    items = rng.integers(0, 200, n)
    rating = rng.integers(1, 6, n)
    country = rng.choice(["DE", "FR", "IT", "ES"], n, p=[0.4, 0.3, 0.2, 0.1])
    coupon = rng.random(n) < 0.3
    score = np.round(1 / (1 + np.exp(-(amount - 25) / 10)), 4)
    target = (rng.random(n) < score).astype(int)
    return [{"request_id": f"req-{seed}-{i:06d}",
             "event_time": f"2026-11-{1 + i * 28 // n:02d}T{i % 24:02d}:00:00",
             "amount": float(amount[i]), "items": int(items[i]), "rating": int(rating[i]),
             "country": str(country[i]), "customer_id": int(rng.integers(1, 10**9)),
             "coupon": bool(coupon[i]), "score": float(score[i]), "target": int(target[i])}
            for i in range(n)]


def _csv(path: Path, rows: list[dict[str, object]]) -> Path:
    names = list(rows[0])
    lines = [",".join(names)]
    for r in rows:
        lines.append(",".join(("true" if r[k] else "false") if isinstance(r[k], bool)
                              else str(r[k]) for k in names))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def train(tmp_path: Path) -> Path:
    return _csv(tmp_path / "train.csv", _rows(7, ROWS))


def _decisions(out: str) -> dict[str, str]:
    found = {}
    for line in out.splitlines():
        m = re.match(r"^  (\S+)\s+(\S+)\s+.*; to change: ", line)
        if m and m.group(1) != "prediction:":
            found[m.group(1)] = m.group(2)
    return found


def test_init_infers_each_column_and_writes_a_config_the_loader_accepts(
        train: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "conf" / "mlmon.yaml"
    assert main(["init", "--from", str(train), "--model", "shop", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    print(printed)
    assert _decisions(printed) == EXPECTED
    assert "prediction: classification ['0', '1']" in printed
    config = load_config(out)  # the strict loader
    (model,) = config.models
    assert (model.name, model.version) == ("shop", "1")
    assert {f.name: f.kind for f in model.features} == {
        k: v for k, v in EXPECTED.items() if v in ("numeric", "categorical")}
    assert (model.prediction.kind, model.prediction.classes) == ("classification", ("0", "1"))
    assert (model.prediction_column, model.label_column, model.id_column) == \
        ("score", "target", "request_id")
    assert model.profile == out.parent / "profile.json"
    profile = load_profile(model.profile)
    assert profile.rows == ROWS
    assert sorted(f.name for f in profile.features) == sorted(f.name for f in model.features)
    rating = next(f for f in profile.features if f.name == "rating")
    assert isinstance(rating, CategoricalProfile)
    # whole numbers as categories "1".."5", each counted as often as the generator wrote it
    written = Counter(str(r["rating"]) for r in _rows(7, ROWS))
    counts = dict(zip(rating.bucket_labels, rating.counts, strict=True))
    assert counts == {**written, "__other__": 0}


def test_a_parquet_file_with_typed_columns_gets_the_same_decisions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _rows(7, ROWS)
    for r in rows:  # a real timestamp type, not text
        r["event_time"] = dt.datetime.fromisoformat(str(r["event_time"]))
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    assert main(["init", "--from", str(path), "--out", str(tmp_path / "mlmon.yaml")]) == 0
    assert _decisions(capsys.readouterr().out) == EXPECTED
    assert load_profile(tmp_path / "profile.json").rows == ROWS


def test_init_refuses_to_overwrite_without_force(
        train: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mlmon.yaml"
    out.write_text("keep me\n")
    assert main(["init", "--from", str(train), "--out", str(out)]) == 1
    assert "already exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "keep me\n"
    assert main(["init", "--from", str(train), "--out", str(out), "--force"]) == 0
    assert load_config(out).models[0].name == "train"  # the file's name


def test_regression_text_classes_and_jsonl_with_nested_features(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    path = tmp_path / "events.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(500):
            fh.write(json.dumps({"id": f"e{i}", "features": {"x": float(rng.normal()),
                                                             "plan": ["a", "b"][i % 2]},
                                 "prediction": ["cat", "dog", "eel"][i % 3],
                                 "label": ["cat", "dog", "eel", "fox"][i % 4]}) + "\n")
    inf = infer([describe(k, v) for k, v in read_sample(path).items()])
    assert {d.column: d.kind or d.role for d in inf.decisions} == {
        "id": "id", "x": "numeric", "plan": "categorical", "prediction": "prediction",
        "label": "label"}
    assert (inf.kind, inf.classes) == ("classification", ("cat", "dog", "eel", "fox"))
    # a numeric label with many values: regression; no label: from the prediction
    many = infer([describe("x", [1.5, 2.5]), describe("label", list(range(100)))])
    assert many.kind == "regression"
    neither = infer([describe("x", [1.5, 2.5])])
    assert (neither.kind, neither.prediction_column, neither.label_column) == \
        ("regression", None, None)
    # text with every value distinct is identifier-like; so is an all-empty column
    ids = infer([describe("token", [f"t{i}" for i in range(50)]), describe("gone", [None] * 50),
                 describe("x", [float(i) for i in range(50)])])
    assert [d.role for d in ids.decisions] == ["skipped", "skipped", "feature"]


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
        text: str = resp.read().decode()
    return text


def _value(text: str, metric: str, feature: str) -> float | None:
    m = re.search(rf'^{metric}{{[^}}]*feature="{feature}"[^}}]*}} (\S+)$', text, re.MULTILINE)
    return None if m is None else float(m.group(1))


# Where the default tap socket cannot be created (as for a normal user: /var/run/mlmon):
# the parent is a regular file, which even root cannot make a directory in.
def _unusable_default(tmp_path: Path) -> Path:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    return blocker / "mlmon" / "mlmon.sock"


def test_a_socket_the_user_cannot_create_is_replaced_by_one_beside_the_config(
        train: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from exporter.commands.init import tap_socket
    from exporter.config import model as config_model

    assert tap_socket(tmp_path / "mlmon.yaml", tmp_path / "run" / "x.sock", "m") is None
    unusable = _unusable_default(tmp_path)
    assert tap_socket(tmp_path / "mlmon.yaml", unusable, "m") == tmp_path / "mlmon.sock"
    monkeypatch.setattr(config_model, "DEFAULT_SOCKET", unusable)
    out = tmp_path / "conf" / "mlmon.yaml"
    assert main(["init", "--from", str(train), "--out", str(out)]) == 0
    assert load_config(out).server.socket == out.parent / "mlmon.sock"


@pytest.mark.slow
def test_serve_runs_with_what_init_wrote(train: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from exporter.config import model as config_model

    monkeypatch.setattr(config_model, "DEFAULT_SOCKET", _unusable_default(tmp_path))
    out = tmp_path / "mlmon.yaml"
    assert main(["init", "--from", str(train), "--model", "shop", "--out", str(out)]) == 0
    sock = tmp_path / "mlmon.sock"  # init wrote it into the config: serve needs no --socket
    events = []
    for r in _rows(8, 1000):  # the same distribution, another seed
        features = {k: r[k] for k, v in EXPECTED.items() if v in ("numeric", "categorical")}
        events.append(json.dumps({"v": 1, "model": "shop", "version": "1",
                                  "id": r["request_id"], "features": features,
                                  "prediction": r["score"], "label": r["target"]}))
    argv = [sys.executable, "-m", "exporter", "serve", "--config", str(out),
            "--http", "127.0.0.1:0"]  # a free port: other tests run sidecars too
    env = {**os.environ, "MLMON_COMPUTE_INTERVAL": "1s"}
    with serving(argv, tmp_path / "serve.log", "/readyz", env=env) as served:
        assert sock.is_socket()
        status, answer = post_events(served.url + "/v1/events", events)
        assert (status, answer) == (202, {"accepted": 1000, "rejected": {}})
        deadline = time.monotonic() + 30
        while True:
            text = _scrape(served.url)
            psi = {f: _value(text, "mlmon_feature_psi", f)
                   for f in ("amount", "items", "rating", "country", "coupon")}
            if all(v is not None for v in psi.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    print(f"PSI after 1000 events from the training distribution: {psi}")
    assert all(v is not None for v in psi.values()), text[-3000:]
    # the same distribution: every PSI small. A category the tap names differently from the
    # profile (3 vs "3.0", true vs "True") would land in another bucket: PSI far above 0.1.
    assert all(v is not None and v < 0.1 for v in psi.values()), psi
    samples = _value(text, "mlmon_feature_samples", "rating")
    assert samples == 1000
