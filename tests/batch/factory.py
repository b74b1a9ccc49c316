"""Fixed-seed reference profiles and batch files, built without mlmon's own binning code."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from exporter.profile.files import save_profile
from exporter.profile.model import (
    SCHEMA_VERSION,
    CategoricalProfile,
    NumericProfile,
    NumericSummary,
    Profile,
)

COLORS = ("blue", "green", "red")


def numeric_profile(name: str, values: NDArray[np.float64], bins: int = 10,
                    sample: int = 1000) -> NumericProfile:
    """Edges at the 1/bins..(bins-1)/bins quantiles; bin i = [e(i-1), e(i))."""
    edges = np.unique(np.quantile(values, np.arange(1, bins) / bins))
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    rng = np.random.default_rng(7)
    kept = np.sort(rng.choice(values, size=min(sample, len(values)), replace=False))
    qs = tuple((q, float(np.quantile(values, q))) for q in (0.05, 0.25, 0.5, 0.75, 0.95, 0.99))
    summary = NumericSummary(len(values), 0, float(values.mean()), float(values.std()),
                             float(values.min()), float(values.max()), qs)
    return NumericProfile(name, tuple(float(e) for e in edges),
                          tuple(int(c) for c in counts), summary,
                          tuple(float(v) for v in kept))


def categorical_profile(name: str, values: Sequence[str],
                        categories: Sequence[str]) -> CategoricalProfile:
    cats = tuple(sorted(categories))
    counts = [sum(1 for v in values if v == c) for c in cats]
    counts.append(sum(1 for v in values if v not in cats))
    return CategoricalProfile(name, cats, tuple(counts), 0)


def reference(n: int = 4000, seed: int = 1) -> dict[str, list[object]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n)
    return {
        "x": x.tolist(),
        "y": rng.exponential(2.0, n).tolist(),
        "color": rng.choice(COLORS, n, p=[0.5, 0.3, 0.2]).tolist(),
        "prediction": (1 / (1 + np.exp(-x))).tolist(),
    }


def current(n: int = 1500, seed: int = 2, shift: float = 0.6) -> dict[str, list[object]]:
    """x shifted by ``shift``, y unchanged, colour proportions moved plus an unseen colour."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    colors = ("blue", "green", "red", "purple")
    return {
        "x": x.tolist(),
        "y": rng.exponential(2.0, n).tolist(),
        "color": rng.choice(colors, n, p=[0.3, 0.3, 0.3, 0.1]).tolist(),
        "prediction": (1 / (1 + np.exp(-x))).tolist(),
        "label": (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int).tolist(),
    }


def make_profile(data: dict[str, list[object]], model: str = "fraud",
                 version: str = "3") -> Profile:
    x = np.asarray(data["x"], dtype=np.float64)
    y = np.asarray(data["y"], dtype=np.float64)
    p = np.asarray(data["prediction"], dtype=np.float64)
    colors = [str(c) for c in data["color"]]
    return Profile(
        schema_version=SCHEMA_VERSION, model=model, version=version, rows=len(x),
        features=(numeric_profile("x", x), numeric_profile("y", y),
                  categorical_profile("color", colors, COLORS)),
        prediction=numeric_profile("__prediction__", p),
        content_hash="",
    )


def write_profile(profile: Profile, path: Path) -> Path:
    save_profile(profile, path)
    return path


def write_csv(path: Path, data: dict[str, list[object]]) -> Path:
    columns = list(data)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for row in zip(*(data[c] for c in columns), strict=True):
            w.writerow(["" if v is None else repr(v) if isinstance(v, float) else v
                        for v in row])
    return path


def write_config(path: Path, thresholds: str,
                 prediction: str = 'kind: classification, classes: ["0", "1"]') -> Path:
    """An mlmon.yaml for the factory's profile (model fraud:3) with these thresholds."""
    path.write_text("models:\n"
                    '  - name: fraud\n    version: "3"\n'
                    f"    prediction: {{{prediction}}}\n"
                    "    features: {x: numeric, y: numeric, color: categorical}\n"
                    f"    thresholds: {{{thresholds}}}\n", encoding="utf-8")
    return path
