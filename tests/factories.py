"""Test data built without mlmon's own binning or profile code: reference profiles,
model configs, tap events and batch files, each from a fixed seed."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import (
    Config,
    FeatureConfig,
    LabelConfig,
    ModelConfig,
    PredictionConfig,
    ServerConfig,
    WindowConfig,
)
from exporter.profile.files import save_profile
from exporter.profile.model import (
    SCHEMA_VERSION,
    CategoricalProfile,
    NumericProfile,
    NumericSummary,
    Profile,
)
from exporter.stats.pca import fit
from exporter.stats.thresholds import Thresholds

COUNTRIES = ("DE", "FR", "GB", "US")
COLORS = ("blue", "green", "red")


def numeric_profile(name: str, values: NDArray[np.float64], bins: int = 10,
                    sample: int | None = None) -> NumericProfile:
    """Edges at the 1/bins..(bins-1)/bins quantiles; bin i = [e(i-1), e(i)).

    The reference sample is every value, or ``sample`` of them drawn with a fixed seed.
    """
    edges = np.unique(np.quantile(values, np.arange(1, bins) / bins))
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    kept = np.sort(values)
    if sample is not None and sample < len(values):
        kept = np.sort(np.random.default_rng(7).choice(values, size=sample, replace=False))
    qs = tuple((q, float(np.quantile(values, q))) for q in (0.05, 0.25, 0.5, 0.75, 0.95, 0.99))
    summary = NumericSummary(len(values), 0, float(values.mean()), float(values.std()),
                             float(values.min()), float(values.max()), qs)
    return NumericProfile(name, tuple(float(e) for e in edges),
                          tuple(int(c) for c in counts), summary,
                          tuple(float(v) for v in kept))


def categorical_profile(name: str, values: Sequence[str],
                        categories: Sequence[str] | None = None) -> CategoricalProfile:
    """Counts of ``categories`` (default: the values seen), the rest in ``__other__``."""
    cats = tuple(sorted(set(values) if categories is None else categories))
    counts = [sum(1 for v in values if v == c) for c in cats]
    counts.append(sum(1 for v in values if v not in cats))
    return CategoricalProfile(name, cats, tuple(counts), 0)


def fraud_model(version: str = "1", window: int = 1000, min_samples: int = 100,
                max_pending: int = 1000, ttl: float = 3600.0) -> ModelConfig:
    return ModelConfig(
        name="fraud", version=version,
        prediction=PredictionConfig("classification", ("0", "1")),
        features=(FeatureConfig("amount", "numeric"), FeatureConfig("age", "numeric"),
                  FeatureConfig("country", "categorical")),
        window=WindowConfig(size=window),
        thresholds=Thresholds(min_samples=min_samples, accuracy_floor=0.8),
        labels=LabelConfig(ttl=ttl, max_pending=max_pending, window=window),
    )


def price_model(window: int = 1000) -> ModelConfig:
    return ModelConfig(
        name="price", version="7", prediction=PredictionConfig("regression"),
        features=(FeatureConfig("rooms", "numeric"),), window=WindowConfig(size=window),
        thresholds=Thresholds(min_samples=10),
    )


def fraud_profile(model: ModelConfig, n: int = 2000, seed: int = 1) -> Profile:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.0, 0.8, n)
    age = rng.normal(40, 10, n).round()
    country = list(rng.choice(COUNTRIES, n, p=[0.4, 0.2, 0.1, 0.3]))
    score = rng.beta(2, 5, n)
    rows = np.column_stack([amount, age])  # the PCA reconstruction-error section
    return Profile(SCHEMA_VERSION, model.name, model.version, n,
                   (numeric_profile("amount", amount), numeric_profile("age", age),
                    categorical_profile("country", [str(c) for c in country])),
                   numeric_profile("__prediction__", score), f"test-{seed}-{model.version}",
                   multivariate=fit(("amount", "age"), rows[0::2], rows[1::2]))


def config(*models: ModelConfig, tmp: Path | None = None, **server: Any) -> Config:
    srv = ServerConfig(socket=(tmp / "mlmon.sock") if tmp else None, http="127.0.0.1:0",
                       state_file=None, state_interval=3600.0)
    return Config(Path("test.yaml"), tuple(models), compute_interval=3600.0,
                  server=replace(srv, **server))


def fraud_events(n: int, seed: int = 2, shift: float = 0.0, start: int = 0,
                 version: str = "1") -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        out.append({"v": 1, "model": "fraud", "version": version, "id": f"r{start + i}",
                    "features": {"amount": round(float(rng.lognormal(3.0 + shift, 0.8)), 3),
                                 "age": float(round(rng.normal(40, 10))),
                                 "country": str(rng.choice(COUNTRIES))},
                    "prediction": round(float(rng.beta(2, 5)), 4)})
    return out


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
        features=(numeric_profile("x", x, sample=1000), numeric_profile("y", y, sample=1000),
                  categorical_profile("color", colors, COLORS)),
        prediction=numeric_profile("__prediction__", p, sample=1000),
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
