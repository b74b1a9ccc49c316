"""MLflow registry rollback against a real ``mlflow server`` on loopback (sqlite backend).

The server comes from the test-only virtualenv made by ``scripts/ensure-mlflow.sh``
(or ``MLMON_MLFLOW_BIN``). REST API reference:
https://mlflow.org/docs/latest/api_reference/rest-api.html (Model Registry section).
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exporter.responder.app import build_app
from exporter.responder.backend_protocol import ActionRequest, BackendError
from exporter.responder.clock import ManualClock
from exporter.responder.config import MlflowRollback
from exporter.responder.config_load import load
from exporter.responder.http import HttpClient
from exporter.responder.mlflow import MlflowBackend
from tests.mlflow_server import mlflow_server
from tests.responder.alerts import T0, alert, body
from tests.responder.service import audit_lines, auth, serve, write_config

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def rest(base: str, method: str, path: str, payload: dict[str, Any] | None = None,
         query: dict[str, str] | None = None) -> Any:
    url = f"{base}/api/2.0/mlflow{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


def champion(base: str, model: str) -> str:
    reply = rest(base, "GET", "/registered-models/alias", query={"name": model,
                                                                  "alias": "champion"})
    return str(reply["model_version"]["version"])


def register(base: str, model: str, versions: int) -> None:
    rest(base, "POST", "/registered-models/create", {"name": model})
    for i in range(1, versions + 1):
        reply = rest(base, "POST", "/model-versions/create",
                     {"name": model, "source": f"s3://models/{model}/{i}"})
        assert reply["model_version"]["version"] == str(i)
    rest(base, "POST", "/registered-models/alias",
         {"name": model, "alias": "champion", "version": str(versions)})


@pytest.fixture(scope="module")
def mlflow_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as base:
        yield base


def test_backend_moves_champion_to_previous_version(mlflow_url: str) -> None:
    register(mlflow_url, "fraud-backend", 3)
    assert champion(mlflow_url, "fraud-backend") == "3"

    async def rollback() -> str:
        http = HttpClient(10.0)
        try:
            backend = MlflowBackend(MlflowRollback(mlflow_url, "fraud-backend"), http)
            return await backend.execute(ActionRequest("fraud", "3", "A", "rollback"))
        finally:
            await http.close()

    assert asyncio.run(rollback()) == "model fraud-backend: alias champion moved from " \
                                      "version 3 to 2"
    assert champion(mlflow_url, "fraud-backend") == "2"
    asyncio.run(rollback())
    assert champion(mlflow_url, "fraud-backend") == "1"
    with pytest.raises(BackendError, match="no READY version older than 1"):
        asyncio.run(rollback())
    assert champion(mlflow_url, "fraud-backend") == "1"


def test_alert_to_registry_through_the_responder(mlflow_url: str, tmp_path: Path) -> None:
    register(mlflow_url, "housing", 2)
    config = load(write_config(tmp_path, f"""\
  - name: housing
    rollback: {{backend: mlflow, tracking_uri: "{mlflow_url}", registered_model: housing}}
"""))
    app = build_app(config, ManualClock(T0), poll=False)

    async def post_twice() -> list[int]:
        import aiohttp
        async with serve(app) as url, aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(2):  # Alertmanager repeating the same notification
                async with session.post(f"{url}/v1/alerts", headers=auth(),
                                        data=body(alert(model="housing"))) as resp:
                    statuses.append(resp.status)
            return statuses

    assert asyncio.run(post_twice()) == [200, 200]
    assert champion(mlflow_url, "housing") == "1"  # moved once, not twice
    lines = audit_lines(config.state_dir)
    assert [(x["result"], x["backend"]) for x in lines] == [("ok", "mlflow"),
                                                            ("skipped_duplicate", "mlflow")]
    assert lines[0]["detail"] == "model housing: alias champion moved from version 2 to 1"
