"""Build the configured backend for each (model, action)."""

from __future__ import annotations

from exporter.responder.backend_protocol import Backend
from exporter.responder.config import (
    ACTIONS,
    ActionKey,
    BackendConfig,
    KubeflowRetrain,
    KubernetesRollback,
    MlflowRollback,
    ResponderConfig,
)
from exporter.responder.http import HttpClient
from exporter.responder.kubeflow import KubeflowBackend
from exporter.responder.kubernetes import KubernetesBackend
from exporter.responder.mlflow import MlflowBackend
from exporter.responder.webhook import WebhookBackend


def make_backend(config: BackendConfig, http: HttpClient) -> Backend:
    if isinstance(config, KubernetesRollback):
        return KubernetesBackend(config, http)
    if isinstance(config, MlflowRollback):
        return MlflowBackend(config, http)
    if isinstance(config, KubeflowRetrain):
        return KubeflowBackend(config, http)
    return WebhookBackend(config, http)


def make_backends(config: ResponderConfig, http: HttpClient) -> dict[ActionKey, Backend]:
    found: dict[ActionKey, Backend] = {}
    for model in config.models.values():
        for action in ACTIONS:
            cfg = model.action(action)
            if cfg is not None:
                found[(model.name, action)] = make_backend(cfg.backend, http)
    return found
