from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest

from exporter.config.load import load_config
from exporter.config.model import ModelConfig
from exporter.demo.reference import ReferenceData, load_reference
from tests.demo.conftest import FRAUD, HOUSING


def test_columns_match_the_csv(fraud_data: ReferenceData) -> None:
    table = pacsv.read_csv(FRAUD / "reference.csv")
    assert fraud_data.rows == table.num_rows
    assert fraud_data.numeric_names == ("amount", "age", "tenure_days", "hour", "distance_km",
                                        "balance")
    assert fraud_data.categorical_names == ("country", "channel")
    amount = np.array(table.column("amount").to_pylist(), dtype=float)
    np.testing.assert_array_equal(fraud_data.numeric[:, 0], amount)  # NaN where missing
    assert list(fraud_data.categorical[:50, 0]) == table.column("country").to_pylist()[:50]
    assert list(fraud_data.labels[:50]) == [str(v) for v in table.column("label")
                                            .to_pylist()[:50]]


def test_regression_labels_are_numbers() -> None:
    model = load_config(HOUSING / "mlmon.yaml").models[0]
    data = load_reference(HOUSING / "reference.csv", model)
    table = pacsv.read_csv(HOUSING / "reference.csv")
    np.testing.assert_allclose(data.labels.astype(float), table.column("label").to_numpy())


def test_file_without_labels_is_a_clear_error(tmp_path: Path, fraud_model: ModelConfig) -> None:
    path = tmp_path / "nolabel.csv"
    path.write_text("amount,age,tenure_days,hour,distance_km,balance,country,channel\n"
                    "1,2,3,4,5,6,DE,web\n")
    with pytest.raises(ValueError, match="no label column 'label'"):
        load_reference(path, fraud_model)
