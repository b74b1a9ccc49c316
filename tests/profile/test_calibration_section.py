"""The profile's calibration section: built from reference labels, hashed, validated, shown."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exporter.profile.build import build_profile
from exporter.profile.files import load_profile, save_profile
from exporter.profile.model import ProfileError
from exporter.stats.calibration import MAX_POINTS
from tests.paths import EXAMPLES
from tests.profile.test_build import _oracle_canonical, data, model, write

MLMON = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "mlmon")


def _labelled(n: int, seed: int = 3) -> dict[str, list[Any]]:
    """Scores s², labels drawn with P(1) = s: the map must come out near sqrt."""
    cols = data(n, seed)
    rng = np.random.default_rng(seed)
    s = rng.random(n)
    cols["prediction"] = np.round(s**2, 6).tolist()
    cols["label"] = (rng.random(n) < s).astype(int).tolist()
    return cols


def test_build_fits_the_map_from_labels_in_every_format(tmp_path: Path) -> None:
    paths = write(tmp_path, _labelled(8000))
    built = {fmt: build_profile(model(), p) for fmt, p in paths.items()}
    cal = built["csv"].calibration
    assert cal is not None and cal.rows == 8000 and cal.classes == ("0", "1")
    assert len(cal.maps) == 1 and len(cal.maps[0].x) <= MAX_POINTS
    grid = np.array([0.09, 0.25, 0.49, 0.81])
    got = cal.maps[0].apply(grid)
    print(f"\nmap at {grid.tolist()}: {np.round(got, 3).tolist()} (sqrt {np.sqrt(grid).tolist()})")
    assert np.all(np.abs(got - np.sqrt(grid)) < 0.06)
    # the same rows in CSV, Parquet and JSONL give the same map, and chunking does not matter
    assert built["parquet"].calibration == cal and built["jsonl"].calibration == cal
    assert build_profile(model(), paths["csv"], chunk_rows=777).calibration == cal


def test_labels_as_class_names_and_unknown_labels(tmp_path: Path) -> None:
    cols = _labelled(2000)
    cols["label"] = ["1" if v else "0" for v in cols["label"]]
    cols["label"][:100] = ["maybe"] * 100  # names no class: left out
    cal = build_profile(model(), write(tmp_path, cols)["csv"]).calibration
    assert cal is not None and cal.rows == 1900


def test_no_label_column_no_calibration_and_regression_none(tmp_path: Path) -> None:
    assert build_profile(model(), write(tmp_path, data(500))["csv"]).calibration is None
    cols = _labelled(500)
    assert build_profile(model(classes=None), write(tmp_path, cols, "r")["csv"]
                         ).calibration is None


def test_multiclass_probability_objects(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    n = 3000
    p = rng.dirichlet([1, 1, 1], size=n)
    y = [str("abc"[rng.choice(3, p=row)]) for row in p]
    path = tmp_path / "m.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"x": 1.0, "y": 2.0, "c": "DE", "label": y[i],
                                 "prediction": dict(zip("abc", p[i].tolist(), strict=True))})
                     + "\n")
    cal = build_profile(model(classes=("a", "b", "c")), path).calibration
    assert cal is not None and cal.rows == n and len(cal.maps) == 3


def test_content_hash_covers_the_calibration(tmp_path: Path) -> None:
    built = build_profile(model(), write(tmp_path, _labelled(3000))["csv"])
    path = tmp_path / "p.json"
    save_profile(built, path)
    raw = path.read_bytes()
    doc = json.loads(raw)
    assert doc["calibration"]["method"] == "isotonic"
    assert raw == _oracle_canonical(doc) + b"\n"
    body = {k: v for k, v in doc.items() if k != "content_hash"}
    assert doc["content_hash"] == hashlib.sha256(_oracle_canonical(body)).hexdigest()
    assert load_profile(path).calibration == built.calibration
    # an edited map point is caught by the hash
    doc["calibration"]["maps"][0]["y"][0] = 0.0 if doc["calibration"]["maps"][0]["y"][0] else 1e-9
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ProfileError, match="content hash mismatch"):
        load_profile(path)


def _rehash(doc: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in doc.items() if k != "content_hash"}
    return body | {"content_hash": hashlib.sha256(_oracle_canonical(body)).hexdigest()}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c.update(method="platt"), r"calibration\.method: unknown method 'platt'"),
    (lambda c: c["maps"].append(c["maps"][0]), r"calibration\.maps: 2 maps for 2 classes"),
    (lambda c: c["maps"][0]["x"].reverse(), r"calibration\.maps\[0\]: .*strictly increasing"),
    (lambda c: c["maps"][0].update(x=list(range(MAX_POINTS + 1)),
                                   y=[0.5] * (MAX_POINTS + 1)),
     r"calibration\.maps\[0\]: 101 points exceed the limit of 100"),
    (lambda c: c.update(extra=1), r"calibration: unknown fields \['extra'\]"),
])
def test_load_rejects_a_bad_calibration_even_with_a_valid_hash(
        tmp_path: Path, edit: Any, message: str) -> None:
    path = tmp_path / "p.json"
    save_profile(build_profile(model(), write(tmp_path, _labelled(3000))["csv"]), path)
    doc = json.loads(path.read_bytes())
    edit(doc["calibration"])
    path.write_text(json.dumps(_rehash(doc)), encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_profile_show_prints_the_calibration(tmp_path: Path) -> None:
    fraud = subprocess.run([MLMON, "profile", "show", str(EXAMPLES / "fraud" / "profile.json")],
                           capture_output=True, text=True, check=True).stdout
    assert "calibration isotonic on 20000 labelled reference rows" in fraud
    housing = subprocess.run([MLMON, "profile", "show",
                              str(EXAMPLES / "housing" / "profile.json")],
                             capture_output=True, text=True, check=True).stdout
    assert "calibration none (no reference labels" in housing
