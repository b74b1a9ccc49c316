"""Kubeflow Pipelines retraining: create a run of a pipeline version (KFP v2beta1 REST).

POST /apis/v2beta1/runs with a V2beta1Run: display_name, pipeline_version_reference
{pipeline_id, pipeline_version_id}, runtime_config.parameters, experiment_id.
Reference: https://www.kubeflow.org/docs/components/pipelines/reference/api/kubeflow-pipeline-api-spec/
"""

from __future__ import annotations

from typing import Any

from exporter.responder.backend_protocol import ActionRequest, BackendError
from exporter.responder.config import KubeflowRetrain
from exporter.responder.http import HttpClient, bearer
from exporter.responder.templating import fill, fill_text


def run_body(config: KubeflowRetrain, request: ActionRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "display_name": fill_text(config.display_name, request),
        "description": f"Started by the mlmon responder for alert {request.alertname} "
                       f"on model {request.model} version {request.version}",
        "pipeline_version_reference": {"pipeline_id": config.pipeline_id,
                                       "pipeline_version_id": config.pipeline_version_id},
        "runtime_config": {"parameters": fill(dict(config.parameters), request)},
    }
    if config.experiment_id:
        body["experiment_id"] = config.experiment_id
    if config.service_account:
        body["service_account"] = config.service_account
    return body


class KubeflowBackend:
    kind = "kubeflow"

    def __init__(self, config: KubeflowRetrain, http: HttpClient) -> None:
        self.config = config
        self.http = http

    async def execute(self, request: ActionRequest) -> str:
        reply = await self.http.call("POST", f"{self.config.endpoint}/apis/v2beta1/runs",
                                     body=run_body(self.config, request),
                                     headers=bearer(self.config.token_file))
        run_id = reply.get("run_id") if isinstance(reply, dict) else None
        if not run_id:
            raise BackendError(f"KFP created no run: reply has no run_id: {str(reply)[:200]}",
                               retryable=False)
        return f"kubeflow run {run_id} ({reply.get('state', 'unknown state')})"
