"""A tiny Kubeflow Pipelines API server: ``POST /apis/v2beta1/runs`` (RunService.CreateRun).

Request and reply are V2beta1Run objects as in the KFP v2beta1 REST reference
(https://www.kubeflow.org/docs/components/pipelines/reference/api/kubeflow-pipeline-api-spec/):
input display_name, pipeline_version_reference, runtime_config, experiment_id; output
run_id, state, created_at. Errors are google.rpc.Status-like objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeKfp:
    pipeline_versions: set[tuple[str, str]]
    created: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/apis/v2beta1/runs", self._create_run)
        return app

    async def _create_run(self, request: web.Request) -> web.Response:
        run = json.loads(await request.read())
        self.headers.append(dict(request.headers))
        ref = run.get("pipeline_version_reference") or {}
        key = (ref.get("pipeline_id"), ref.get("pipeline_version_id"))
        if not run.get("display_name") or key not in self.pipeline_versions:
            message = f"pipeline version {key} not found or display_name missing"
            return web.json_response({"error": message, "code": 5, "message": message,
                                      "details": []}, status=404)
        self.created.append(run)
        reply = {**run, "run_id": f"run-{len(self.created)}", "state": "PENDING",
                 "storage_state": "AVAILABLE", "created_at": "2026-11-26T02:00:01Z",
                 "scheduled_at": "1970-01-01T00:00:00Z", "finished_at": "1970-01-01T00:00:00Z"}
        return web.json_response(reply)
