"""A tiny Kubernetes API server: the three apps/v1 endpoints ``rollout undo`` uses.

Paths and shapes from the API reference
(https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/,
.../replica-set-v1/): GET a Deployment, LIST ReplicaSets with ``labelSelector``, PATCH a
Deployment with ``application/json-patch+json`` (RFC 6902). Errors are ``Status`` objects.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Obj = dict[str, Any]


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Failure", "message": message, "reason": reason,
                              "code": code}, status=code)


def _matches(labels: dict[str, str], selector: str) -> bool:
    # Equality-based terms only ("k=v,k2=v2"): what the responder sends for matchLabels.
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


@dataclass
class FakeKubernetes:
    token: str
    deployment: Obj
    replicasets: list[Obj]
    patches: list[tuple[str, Any]] = field(default_factory=list)  # (content type, body)
    selectors: list[str] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer first

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        base = "/apis/apps/v1/namespaces/{namespace}"
        app.router.add_get(base + "/deployments/{name}", self._get_deployment)
        app.router.add_patch(base + "/deployments/{name}", self._patch_deployment)
        app.router.add_get(base + "/replicasets", self._list_replicasets)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _status(401, "Unauthorized", "Unauthorized")
        if self.fail_next:
            code = self.fail_next.pop(0)
            return _status(code, "ServiceUnavailable", "etcd leader changed")
        response: web.StreamResponse = await handler(request)
        return response

    def _find(self, request: web.Request) -> Obj | None:
        meta = self.deployment["metadata"]
        if (request.match_info["namespace"], request.match_info["name"]) == (
                meta["namespace"], meta["name"]):
            return self.deployment
        return None

    async def _get_deployment(self, request: web.Request) -> web.Response:
        found = self._find(request)
        if found is None:
            name = request.match_info["name"]
            return _status(404, "NotFound", f'deployments.apps "{name}" not found')
        return web.json_response(found)

    async def _list_replicasets(self, request: web.Request) -> web.Response:
        selector = request.query.get("labelSelector", "")
        self.selectors.append(selector)
        items = [rs for rs in self.replicasets
                 if rs["metadata"]["namespace"] == request.match_info["namespace"]
                 and _matches(rs["metadata"]["labels"], selector)]
        return web.json_response({"kind": "ReplicaSetList", "apiVersion": "apps/v1",
                                  "metadata": {"resourceVersion": "4712"}, "items": items})

    async def _patch_deployment(self, request: web.Request) -> web.Response:
        found = self._find(request)
        if found is None:
            return _status(404, "NotFound", "not found")
        ctype = request.headers.get("Content-Type", "")
        body = json.loads(await request.read())
        self.patches.append((ctype, body))
        if ctype != "application/json-patch+json":
            return _status(415, "UnsupportedMediaType", f"unsupported {ctype}")
        patched = copy.deepcopy(found)
        for op in body:
            if op["op"] != "replace":
                return _status(422, "Invalid", f"unsupported op {op['op']}")
            *parents, last = op["path"].strip("/").split("/")
            target = patched
            for part in parents:
                target = target[part]
            target[last] = op["value"]
        self.deployment = patched
        return web.json_response(patched)
