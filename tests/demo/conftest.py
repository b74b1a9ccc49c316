from __future__ import annotations

import pytest

from exporter.config.load import load_config
from exporter.config.model import ModelConfig
from exporter.demo.model import SimpleModel
from exporter.demo.reference import ReferenceData, load_reference
from tests.paths import EXAMPLES

FRAUD = EXAMPLES / "fraud"
HOUSING = EXAMPLES / "housing"


@pytest.fixture(scope="session")
def fraud_model() -> ModelConfig:
    return load_config(FRAUD / "mlmon.yaml").models[0]


@pytest.fixture(scope="session")
def fraud_data(fraud_model: ModelConfig) -> ReferenceData:
    return load_reference(FRAUD / "reference.csv", fraud_model)


@pytest.fixture(scope="session")
def fraud_predictor(fraud_data: ReferenceData, fraud_model: ModelConfig) -> SimpleModel:
    return SimpleModel.fit(fraud_data, fraud_model.prediction.classes)
