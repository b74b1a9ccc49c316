"""Traffic for the dashboard end-to-end test: the bundled examples as tap NDJSON."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import yaml

from tests.paths import EXAMPLES

MODELS = ("fraud", "housing")


def combined_config(path: Path, compute_interval: str = "1s") -> Path:
    """One sidecar config serving both examples (profiles by absolute path)."""
    models: list[dict[str, Any]] = []
    for name in MODELS:
        document = yaml.safe_load((EXAMPLES / name / "mlmon.yaml").read_text())
        for model in document["models"]:
            model["profile"] = str((EXAMPLES / name / model["profile"]).resolve())
            models.append(model)
    path.write_text(yaml.safe_dump({"compute_interval": compute_interval, "models": models}))
    return path


def csv_cell(text: str) -> Any:
    """A CSV cell as JSON: number or string; None for a missing value (empty or nan)."""
    try:
        number = float(text)
    except ValueError:
        return text or None
    if math.isnan(number):
        return None
    return int(number) if number.is_integer() and "." not in text else number


def events(model: str, rows: int) -> tuple[list[str], list[str]]:
    """(prediction lines, label lines) for the first ``rows`` of current.csv."""
    document = yaml.safe_load((EXAMPLES / model / "mlmon.yaml").read_text())
    spec = document["models"][0]
    predictions: list[str] = []
    labels: list[str] = []
    with (EXAMPLES / model / "current.csv").open(newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            if index >= rows:
                break
            values = {f: csv_cell(row[f]) for f in spec["features"]}
            features = {f: v for f, v in values.items() if v is not None}
            predictions.append(json.dumps({
                "v": 1, "model": model, "version": str(spec["version"]), "id": row["id"],
                "features": features, "prediction": float(row["prediction"])}))
            label: Any = row["label"] if spec["prediction"]["kind"] == "classification" \
                else float(row["label"])
            labels.append(json.dumps({"v": 1, "model": model, "id": row["id"],
                                      "label": label}))
    return predictions, labels


BAD_LINES = [
    "this is not json",
    json.dumps({"v": 1, "model": "no-such-model", "version": "1", "features": {},
                "prediction": 0.5}),
    json.dumps({"v": 1, "model": "fraud", "version": "3", "features": {"amount": "many"},
                "prediction": 0.5}),
]
