"""Generate the bundled example data under exporter/data/examples/ (deterministic, seeded).

fraud/    classification (classes "0", "1"; prediction = fraud score in [0, 1])
housing/  regression (prediction = price estimate)

Each gets reference.csv, current.csv (with known drift), mlmon.yaml and a
profile.json built with `mlmon profile build`. Run: python scripts/make_example.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent / "exporter" / "data" / "examples"
SEED = 20_261_126

FRAUD_YAML = """\
# Example: a fraud classifier. Built by scripts/make_example.py.
compute_interval: 15s
models:
  - name: fraud
    version: "3"
    profile: profile.json
    prediction: {kind: classification, classes: ["0", "1"]}
    features:
      amount: numeric
      age: numeric
      tenure_days: numeric
      hour: numeric
      distance_km: numeric
      balance: numeric
      country: categorical
      channel: categorical
    window: {size: 5000, max_age: 1h}
    thresholds: {psi_medium: 0.1, psi_high: 0.25, ks_alpha: 0.01, chi2_alpha: 0.01,
                 min_samples: 500, accuracy_floor: 0.8}
    labels: {ttl: 24h, max_pending: 100000}
    segment: {feature: country, max_values: 5, min_samples: 100}
"""

HOUSING_YAML = """\
# Example: a house-price regressor. Built by scripts/make_example.py.
compute_interval: 15s
models:
  - name: housing
    version: "1"
    profile: profile.json
    prediction: {kind: regression}
    features:
      sqft: numeric
      rooms: numeric
      age_years: numeric
      distance_center_km: numeric
      neighborhood: categorical
    window: {size: 2000}
    thresholds: {min_samples: 200, mae_ceiling: 60000}
    segment: {feature: neighborhood, max_values: 4, min_samples: 50}
"""

COUNTRIES = np.array(["DE", "ES", "FR", "GB", "IT", "US"], dtype=object)
CHANNELS = np.array(["app", "pos", "web"], dtype=object)


def _fraud(rng: np.random.Generator, n: int, drift: bool) -> pa.Table:
    # Drift in current: amount ~2.2x larger, country mix moves to US/GB.
    amount = np.round(rng.lognormal(3.9 if drift else 3.1, 0.9, n), 2)
    age = rng.normal(41, 12, n).clip(18, 90).round()
    tenure = rng.exponential(700, n).round()
    hour = rng.integers(0, 24, n).astype(np.float64)
    distance = np.round(rng.lognormal(2.0, 1.0, n), 1)
    balance = rng.normal(2500, 900, n).round()
    cp = [0.06, 0.04, 0.08, 0.3, 0.02, 0.5] if drift else [0.3, 0.15, 0.25, 0.1, 0.1, 0.1]
    country = rng.choice(COUNTRIES, n, p=cp)
    channel = rng.choice(CHANNELS, n, p=[0.5, 0.2, 0.3])
    night = ((hour < 6) | (hour >= 23)).astype(np.float64)
    z = (-3.0 + 0.9 * (np.log(amount) - 3.1) + 1.1 * night + 0.5 * (np.log1p(distance) - 2)
         - 0.0006 * tenure + 0.4 * (channel == "web"))
    score = 1 / (1 + np.exp(-z))
    # The current period's fraud no longer follows the model: labels come from a
    # shifted relationship, so accuracy drops.
    true_z = z + (rng.normal(0.0, 2.2, n) + 0.8 if drift else rng.normal(0.0, 0.3, n))
    label = (rng.random(n) < 1 / (1 + np.exp(-true_z * 1.6))).astype(np.int64)
    amount[rng.random(n) < 0.01] = np.nan  # a few missing amounts
    ids = [f"{'c' if drift else 'r'}{i:06d}" for i in range(n)]
    return pa.table({
        "id": ids, "amount": amount, "age": age, "tenure_days": tenure, "hour": hour,
        "distance_km": distance, "balance": balance, "country": country, "channel": channel,
        "prediction": np.round(score, 4), "label": label,
    })


def _housing(rng: np.random.Generator, n: int, drift: bool) -> pa.Table:
    sqft = rng.normal(1700 if drift else 1300, 300, n).clip(300).round()  # drift: larger homes
    rooms = rng.normal(4, 1.2, n).clip(1).round()  # independent of sqft: no drift
    age = rng.uniform(0, 80, n).round()
    dist = np.round(rng.gamma(2.0, 4.0, n), 1)
    hood = rng.choice(np.array(["center", "east", "north", "south", "west"], dtype=object), n,
                      p=[0.15, 0.2, 0.25, 0.2, 0.2])
    price = 50_000 + 180 * sqft + 9000 * rooms - 600 * age - 2500 * dist
    price = price + 40_000 * (hood == "center")
    label = np.round(price + rng.normal(0, 25_000, n), -2)
    pred = np.round(price + rng.normal(0, 8_000, n), -2)
    return pa.table({"id": [f"h{i:05d}" for i in range(n)], "sqft": sqft, "rooms": rooms,
                     "age_years": age, "distance_center_km": dist, "neighborhood": hood,
                     "prediction": pred, "label": label})


def _write(folder: Path, yaml_text: str, reference: pa.Table, current: pa.Table) -> None:
    from exporter.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mlmon.yaml").write_text(yaml_text, encoding="utf-8")
    pacsv.write_csv(reference, folder / "reference.csv")
    pacsv.write_csv(current, folder / "current.csv")
    rc = main(["profile", "build", "--config", str(folder / "mlmon.yaml"), "--model", folder.name,
               "--input", str(folder / "reference.csv"), "--out", str(folder / "profile.json")])
    if rc:
        raise SystemExit(rc)


def main() -> int:
    rng = np.random.default_rng(SEED)
    _write(ROOT / "fraud", FRAUD_YAML, _fraud(rng, 20_000, False), _fraud(rng, 5_000, True))
    _write(ROOT / "housing", HOUSING_YAML, _housing(rng, 4_000, False),
           _housing(rng, 1_500, True))
    # the Kubernetes example overlay serves the fraud model: the same two files
    # (tests/deploy/test_k8s.py checks they are byte-identical)
    overlay = ROOT.parents[2] / "k8s" / "overlays" / "example" / "model"
    for name in ("mlmon.yaml", "profile.json"):
        shutil.copyfile(ROOT / "fraud" / name, overlay / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
