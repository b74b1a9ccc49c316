"""MLflow model-registry rollback: move an alias (e.g. ``champion``) to the previous version.

REST API (https://mlflow.org/docs/latest/api_reference/rest-api.html):
GET  /api/2.0/mlflow/registered-models/alias?name=..&alias=..   -> {model_version}
GET  /api/2.0/mlflow/model-versions/search?filter=name='..'     -> {model_versions, next_page_token}
POST /api/2.0/mlflow/registered-models/alias {name, alias, version}
"""

from __future__ import annotations

from typing import Any

from exporter.responder.backend_protocol import ActionRequest, BackendError
from exporter.responder.config import MlflowRollback
from exporter.responder.http import HttpClient, bearer

API = "/api/2.0/mlflow"
MAX_PAGES = 100


def name_filter(name: str) -> str:
    quote = "'" if "'" not in name else '"'
    return f"name={quote}{name}{quote}"


def previous_version(versions: list[dict[str, Any]], current: int) -> int | None:
    """Highest READY version number below ``current``."""
    older = [int(v["version"]) for v in versions
             if str(v.get("version", "")).isdigit() and int(v["version"]) < current
             and v.get("status", "READY") == "READY"]
    return max(older) if older else None


class MlflowBackend:
    kind = "mlflow"

    def __init__(self, config: MlflowRollback, http: HttpClient) -> None:
        self.config = config
        self.http = http

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        return await self.http.call(method, f"{self.config.tracking_uri}{API}{path}",
                                    headers=bearer(self.config.token_file), **kw)

    async def _versions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params = {"filter": name_filter(self.config.registered_model), "max_results": "1000"}
        for _ in range(MAX_PAGES):
            page = await self._call("GET", "/model-versions/search", params=params)
            found.extend(page.get("model_versions", []))
            token = page.get("next_page_token")
            if not token:
                break
            params = {**params, "page_token": token}
        return found

    async def execute(self, request: ActionRequest) -> str:
        name, alias = self.config.registered_model, self.config.alias
        current_reply = await self._call("GET", "/registered-models/alias",
                                         params={"name": name, "alias": alias})
        try:
            current = int(current_reply["model_version"]["version"])
        except (KeyError, TypeError, ValueError):
            raise BackendError(f"model {name}: alias {alias} points to no version",
                               retryable=False) from None
        target = previous_version(await self._versions(), current)
        if target is None:
            raise BackendError(f"model {name}: no READY version older than {current} for "
                               f"alias {alias}", retryable=False)
        await self._call("POST", "/registered-models/alias",
                         body={"name": name, "alias": alias, "version": str(target)})
        return f"model {name}: alias {alias} moved from version {current} to {target}"
