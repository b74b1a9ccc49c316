"""Kubernetes rollback: ``kubectl rollout undo deployment/NAME`` through the REST API.

Paths (apps/v1 API reference, Deployment and ReplicaSet "Operations"):
GET   /apis/apps/v1/namespaces/{namespace}/deployments/{name}
GET   /apis/apps/v1/namespaces/{namespace}/replicasets?labelSelector=...
PATCH /apis/apps/v1/namespaces/{namespace}/deployments/{name}  (application/json-patch+json)
Needs RBAC: get/patch deployments, list replicasets in the namespace.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from exporter.responder.backend_protocol import ActionRequest, BackendError
from exporter.responder.config import KubernetesRollback
from exporter.responder.http import HttpClient, bearer, ssl_context
from exporter.responder.rollout import RolloutError, plan_undo, selector_string


def in_cluster_url() -> str:
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise BackendError("no api_url configured and KUBERNETES_SERVICE_HOST is unset "
                           "(not running in a cluster)", retryable=False)
    if ":" in host:  # IPv6 service address
        host = f"[{host}]"
    return f"https://{host}:{port}"


class KubernetesBackend:
    kind = "kubernetes"

    def __init__(self, config: KubernetesRollback, http: HttpClient) -> None:
        self.config = config
        self.http = http

    async def execute(self, request: ActionRequest) -> str:
        c = self.config
        base = (c.api_url or in_cluster_url()).rstrip("/")
        ns = quote(c.namespace, safe="")
        deployment_url = f"{base}/apis/apps/v1/namespaces/{ns}/deployments/" \
                         f"{quote(c.deployment, safe='')}"
        tls = ssl_context(c.ca_file)

        async def call(method: str, url: str, **kw: Any) -> Any:
            return await self.http.call(method, url, headers=bearer(c.token_file), tls=tls, **kw)

        deployment = await call("GET", deployment_url)
        try:
            selector = selector_string(deployment["spec"]["selector"])
        except (KeyError, TypeError, RolloutError) as exc:
            raise BackendError(f"deployment {c.deployment}: bad selector: {exc}",
                               retryable=False) from None
        listing = await call("GET", f"{base}/apis/apps/v1/namespaces/{ns}/replicasets",
                             params={"labelSelector": selector})
        try:
            plan = plan_undo(deployment, list(listing.get("items", [])))
        except RolloutError as exc:
            raise BackendError(str(exc), retryable=False) from None
        where = f"deployment {c.namespace}/{c.deployment}"
        if plan.patch is None:
            return (f"{where}: revision {plan.to_revision} ({plan.replicaset}) already "
                    f"live; nothing to patch")
        await call("PATCH", deployment_url, body=plan.patch,
                   content_type="application/json-patch+json")
        return (f"{where}: rolled back from revision {plan.from_revision} to "
                f"{plan.to_revision} (template of replicaset {plan.replicaset})")
