"""Rows the simulated model server replays: the model's reference data, held in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import ModelConfig
from exporter.readers.chunks import ColumnKind, available_columns, read_chunks

MAX_ROWS = 200_000  # enough to resample from; bounds the demo's memory


@dataclass(frozen=True)
class ReferenceData:
    """Feature columns (config order) and the ground truth of each row."""

    numeric_names: tuple[str, ...]
    categorical_names: tuple[str, ...]
    numeric: NDArray[np.float64]  # (rows, numeric features), NaN = missing
    categorical: NDArray[np.object_]  # (rows, categorical features), str or None
    labels: NDArray[np.object_]  # str class names (classification) or float (regression)
    # The served model's recorded prediction per row (binary score or regression value),
    # when the file has a numeric prediction column: replayed so that undrifted traffic
    # has exactly the reference prediction distribution of the profile.
    predictions: NDArray[np.float64] | None = None

    @property
    def rows(self) -> int:
        return int(self.labels.shape[0])


def load_reference(path: Path, model: ModelConfig, max_rows: int = MAX_ROWS) -> ReferenceData:
    """Read the feature and label columns of ``path`` (CSV, Parquet or JSONL)."""
    numeric_names = tuple(f.name for f in model.features if f.kind == "numeric")
    categorical_names = tuple(f.name for f in model.features if f.kind == "categorical")
    if model.label_column not in available_columns(path):
        raise ValueError(f"{path}: no label column {model.label_column!r}; the demo needs "
                         "ground truth to simulate delayed labels")
    regression = model.prediction.kind == "regression"
    columns: dict[str, ColumnKind] = {n: "numeric" for n in numeric_names}
    columns.update({n: "categorical" for n in categorical_names})
    columns[model.label_column] = "numeric" if regression else "categorical"
    scored = (regression or len(model.prediction.classes) == 2) and (
        model.prediction_column in available_columns(path))
    if scored:
        columns[model.prediction_column] = "numeric"
    num_parts: list[NDArray[np.float64]] = []
    cat_parts: list[NDArray[np.object_]] = []
    label_parts: list[NDArray[np.object_]] = []
    pred_parts: list[NDArray[np.float64]] = []
    rows = 0
    for chunk in read_chunks(path, columns):
        num_parts.append(np.column_stack([chunk.numeric[n] for n in numeric_names])
                         if numeric_names else np.empty((chunk.rows, 0)))
        cat_parts.append(np.column_stack([chunk.categorical[n] for n in categorical_names])
                         if categorical_names else np.empty((chunk.rows, 0), dtype=object))
        raw = (chunk.numeric[model.label_column] if regression
               else chunk.categorical[model.label_column])
        label_parts.append(np.asarray(raw, dtype=object))
        if scored:
            pred_parts.append(np.asarray(chunk.numeric[model.prediction_column]))
        rows += chunk.rows
        if rows >= max_rows:
            break
    numeric = np.concatenate(num_parts)[:max_rows]
    categorical = np.concatenate(cat_parts)[:max_rows].astype(object)
    labels = np.concatenate(label_parts)[:max_rows]
    keep = _known_labels(labels, model)
    predictions = np.concatenate(pred_parts)[:max_rows] if scored else None
    if predictions is not None:
        keep &= np.isfinite(predictions)
    if not keep.any():
        raise ValueError(f"{path}: no row has a usable {model.label_column!r} value")
    return ReferenceData(numeric_names, categorical_names, numeric[keep], categorical[keep],
                         labels[keep], None if predictions is None else predictions[keep])


def _known_labels(labels: NDArray[np.object_], model: ModelConfig) -> NDArray[np.bool_]:
    if model.prediction.kind == "regression":
        return np.array([v is not None and np.isfinite(v) for v in labels], dtype=bool)
    classes = set(model.prediction.classes)
    return np.array([v in classes for v in labels], dtype=bool)
