"""A small synchronous client for the Prometheus HTTP API (query, query_range)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


class PrometheusError(RuntimeError):
    """Prometheus could not be reached or answered with an error (message included)."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    t: NDArray[np.float64]  # unix seconds
    y: NDArray[np.float64]


class PrometheusAPI:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise PrometheusError(self._error_message(exc.code, exc.read())) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PrometheusError(
                f"cannot reach Prometheus at {self.base_url}: {reason}"
            ) from None
        try:
            doc = json.loads(body)
        except ValueError:
            raise PrometheusError(
                f"{self.base_url} did not answer with Prometheus API JSON; is it Prometheus?"
            ) from None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            raise PrometheusError(self._error_message(200, body))
        return doc.get("data")

    def _error_message(self, code: int, body: bytes) -> str:
        try:
            doc = json.loads(body)
            detail = f"{doc.get('errorType', 'error')}: {doc.get('error', '')}"
        except ValueError:
            detail = body[:300].decode("utf-8", "replace")
        return f"Prometheus at {self.base_url} answered HTTP {code}: {detail}"

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        data = self._get("/api/v1/query_range", {
            "query": expr, "start": repr(start), "end": repr(end), "step": repr(step),
        })
        out: list[Series] = []
        for item in data.get("result", []):
            values = item.get("values", [])
            t = np.array([float(v[0]) for v in values], dtype=np.float64)
            y = np.array([float(v[1]) for v in values], dtype=np.float64)
            out.append(Series(dict(item.get("metric", {})), t, y))
        return out

    def query(self, expr: str, at: float | None = None) -> list[tuple[dict[str, str], float]]:
        params = {"query": expr}
        if at is not None:
            params["time"] = repr(at)
        data = self._get("/api/v1/query", params)
        if data.get("resultType") != "vector":
            return []
        return [(dict(r["metric"]), float(r["value"][1])) for r in data.get("result", [])]

    def label_values(self, label: str, match: str, start: float | None,
                     end: float | None) -> list[str]:
        params = {"match[]": match}
        if start is not None and end is not None:
            params.update(start=repr(start), end=repr(end))
        data = self._get(f"/api/v1/label/{urllib.parse.quote(label)}/values", params)
        return sorted(str(v) for v in data)
