"""Typed, frozen responder configuration (loaded by ``config_load.load``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from exporter.responder.schedule import Window

Action = Literal["rollback", "retrain"]
ACTIONS: tuple[Action, ...] = ("rollback", "retrain")
ActionKey = tuple[str, str]  # (model name, action): one backend, one lock, one history

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_LISTEN = "0.0.0.0:9848"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # total tries, first one included
    backoff: float = 1.0  # seconds before the 2nd try; doubles each time
    max_backoff: float = 30.0

    def delay(self, attempt: int) -> float:
        """Pause after failed try number ``attempt`` (1-based)."""
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class KubernetesRollback:
    kind: ClassVar[str] = "kubernetes"
    namespace: str
    deployment: str
    api_url: str | None = None  # None: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
    token_file: Path = SA_DIR / "token"
    ca_file: Path | None = SA_DIR / "ca.crt"


@dataclass(frozen=True)
class MlflowRollback:
    kind: ClassVar[str] = "mlflow"
    tracking_uri: str
    registered_model: str
    alias: str = "champion"
    token_file: Path | None = None


@dataclass(frozen=True)
class KubeflowRetrain:
    kind: ClassVar[str] = "kubeflow"
    endpoint: str
    pipeline_id: str
    pipeline_version_id: str
    experiment_id: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    display_name: str = "mlmon retrain {model} ({alertname})"
    service_account: str | None = None
    token_file: Path | None = None


@dataclass(frozen=True)
class WebhookTarget:
    kind: ClassVar[str] = "webhook"
    url: str
    body: Any = None  # JSON template; None sends the default body
    headers: Mapping[str, str] = field(default_factory=dict)
    token_file: Path | None = None


BackendConfig = KubernetesRollback | MlflowRollback | KubeflowRetrain | WebhookTarget


@dataclass(frozen=True)
class ActionConfig:
    backend: BackendConfig
    cooldown: float  # seconds after an action before the next one for the same model
    daily_cap: int  # actions per model and action in any 24 h
    window: Window | None = None  # retraining only


@dataclass(frozen=True)
class ModelActions:
    name: str
    rollback: ActionConfig | None = None
    retrain: ActionConfig | None = None

    def action(self, action: Action) -> ActionConfig | None:
        return self.rollback if action == "rollback" else self.retrain


@dataclass(frozen=True)
class ResponderConfig:
    path: Path
    token_file: Path
    state_dir: Path
    models: Mapping[str, ModelActions]
    listen: str = DEFAULT_LISTEN
    dry_run: bool = False
    timeout: float = 10.0  # seconds per backend HTTP request
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll_interval: float = 30.0  # seconds between retrain-queue checks
