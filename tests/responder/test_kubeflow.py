"""Kubeflow retraining run creation against a loopback KFP API (see fake_kfp)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from exporter.responder.backend_protocol import ActionRequest, BackendError
from exporter.responder.config import KubeflowRetrain
from exporter.responder.http import HttpClient
from exporter.responder.kubeflow import KubeflowBackend
from tests.responder.fake_kfp import FakeKfp
from tests.responder.service import serve

REQUEST = ActionRequest("fraud", "3", "MlmonFeatureDriftSustained", "retrain", "f1")


def test_creates_a_run_of_the_configured_pipeline_version(tmp_path: Path) -> None:
    (tmp_path / "kfp-token").write_text("kfp-secret\n")
    fake = FakeKfp({("pipe-1", "ver-7")})

    async def scenario() -> str:
        async with serve(fake.app()) as url:
            http = HttpClient(5.0)
            cfg = KubeflowRetrain(url, "pipe-1", "ver-7", "exp-2",
                                  {"model_name": "{model}", "base_version": "{version}",
                                   "epochs": 20, "tags": ["{alertname}", "auto"]},
                                  service_account="pipeline-runner",
                                  token_file=tmp_path / "kfp-token")
            try:
                return await KubeflowBackend(cfg, http).execute(REQUEST)
            finally:
                await http.close()

    detail = asyncio.run(scenario())
    assert detail == "kubeflow run run-1 (PENDING)"
    assert fake.created == [{
        "display_name": "mlmon retrain fraud (MlmonFeatureDriftSustained)",
        "description": "Started by the mlmon responder for alert MlmonFeatureDriftSustained "
                       "on model fraud version 3",
        "pipeline_version_reference": {"pipeline_id": "pipe-1", "pipeline_version_id": "ver-7"},
        "runtime_config": {"parameters": {"model_name": "fraud", "base_version": "3",
                                          "epochs": 20,
                                          "tags": ["MlmonFeatureDriftSustained", "auto"]}},
        "experiment_id": "exp-2",
        "service_account": "pipeline-runner",
    }]
    assert fake.headers[0]["Authorization"] == "Bearer kfp-secret"


def test_unknown_pipeline_version_is_a_permanent_failure() -> None:
    fake = FakeKfp(set())

    async def scenario() -> None:
        async with serve(fake.app()) as url:
            http = HttpClient(5.0)
            try:
                with pytest.raises(BackendError) as info:
                    await KubeflowBackend(KubeflowRetrain(url, "p", "v"), http).execute(REQUEST)
            finally:
                await http.close()
        assert not info.value.retryable and "HTTP 404" in str(info.value)

    asyncio.run(scenario())
