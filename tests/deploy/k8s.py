"""Render the kustomizations and validate custom resources against the CRD schemas in k8s/."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.paths import ROOT
from tests.procs import require_binary

K8S = ROOT / "k8s"
SCHEMAS = K8S / "schemas"
CRD_FILES = {
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor.yaml",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.yaml",
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"): "alertmanagerconfig.yaml",
    ("argoproj.io/v1alpha1", "AnalysisTemplate"): "analysistemplate.yaml",
}
Obj = dict[str, Any]


class _Loader(yaml.SafeLoader):
    """SafeLoader reading a bare `=` (YAML 1.1's value key, as kubectl prints it) as text."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: node.value)


def kubectl() -> str:
    """kubectl on PATH, else the one scripts/ensure-kubectl.sh put in the virtualenv."""
    in_venv = Path(sys.executable).parent / "kubectl"
    if shutil.which("kubectl") is None and in_venv.exists():
        return str(in_venv)
    return require_binary("kubectl")


def render(directory: Path) -> list[Obj]:
    """`kubectl kustomize DIR`, parsed."""
    done = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, f"kubectl kustomize {directory} failed:\n{done.stderr}"
    return [d for d in yaml.load_all(done.stdout, Loader=_Loader) if d]


def find(objects: list[Obj], kind: str, name: str | None = None) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind
            and (name is None or o["metadata"]["name"].startswith(name))]


def one(objects: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


def containers(spec: Obj) -> list[Obj]:
    return list(spec.get("initContainers", [])) + list(spec.get("containers", []))


def _strict(node: Any) -> Any:
    """openAPIV3 (structural, as the API server applies it) -> JSON Schema.

    Objects listing ``properties`` reject unknown fields (kubectl --validate=strict);
    ``x-kubernetes-int-or-string`` allows an integer or a string.
    """
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-") or k in (
        "x-kubernetes-preserve-unknown-fields",)}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in node and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def crd_schema(api_version: str, kind: str) -> Obj:
    document = yaml.safe_load((SCHEMAS / CRD_FILES[(api_version, kind)]).read_text())
    assert (document["apiVersion"], document["kind"]) == (api_version, kind)
    schema: Obj = _strict(document["openAPIV3Schema"])
    return schema


def crd_errors(obj: Obj) -> list[str]:
    """Validation errors of a custom resource (empty when valid)."""
    schema = crd_schema(obj["apiVersion"], obj["kind"])
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(obj)]
    if obj["kind"] == "AlertmanagerConfig":
        # Child routes are opaque to the CRD; the operator checks them as routes.
        route_schema = schema["properties"]["spec"]["properties"]["route"]
        stack = [copy.deepcopy(r) for r in obj["spec"].get("route", {}).get("routes", [])]
        while stack:
            route = stack.pop()
            errors += [f"route {route.get('receiver')}: "
                       f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                       for e in jsonschema.Draft7Validator(route_schema).iter_errors(route)]
            stack += route.get("routes", [])
    return errors
