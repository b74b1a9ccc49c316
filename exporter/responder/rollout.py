"""Pure logic of ``kubectl rollout undo`` for a Deployment (no I/O).

The controller stamps each ReplicaSet of a Deployment with the annotation
``deployment.kubernetes.io/revision``; undoing a rollout copies the pod template of the
ReplicaSet with the second-highest revision back into the Deployment with a JSON patch.
Objects follow the apps/v1 API reference:
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/replica-set-v1/
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
# Annotations that describe the Deployment object itself, not a revision: the Deployment
# keeps its own values, as kubectl does.
KEEP_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
})

Obj = dict[str, Any]


class RolloutError(ValueError):
    """The Deployment cannot be rolled back (paused, no history, bad selector)."""


@dataclass(frozen=True)
class Plan:
    patch: list[Obj] | None  # None: the previous revision is already live
    from_revision: int
    to_revision: int
    replicaset: str


def selector_string(selector: Obj) -> str:
    """A ``labelSelector`` query value from a LabelSelector object."""
    parts = [f"{k}={v}" for k, v in sorted(selector.get("matchLabels", {}).items())]
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            raise RolloutError(f"unknown selector operator {op!r}")
    if not parts:
        raise RolloutError("the Deployment has an empty selector")
    return ",".join(parts)


def owned_by(replicaset: Obj, deployment: Obj) -> bool:
    uid = deployment["metadata"].get("uid")
    return any(ref.get("controller") and ref.get("uid") == uid
               for ref in replicaset["metadata"].get("ownerReferences", []))


def revision(obj: Obj) -> int | None:
    value = obj["metadata"].get("annotations", {}).get(REVISION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def without_hash(template: Obj) -> Obj:
    clean = copy.deepcopy(template)
    labels = clean.get("metadata", {}).get("labels")
    if labels is not None:
        labels.pop(HASH_LABEL, None)
    return clean


def plan_undo(deployment: Obj, replicasets: list[Obj]) -> Plan:
    """The JSON patch that rolls ``deployment`` back to its previous revision."""
    name = deployment["metadata"]["name"]
    if deployment.get("spec", {}).get("paused"):
        raise RolloutError(f"deployment {name} is paused; resume it before rolling back")
    ranked = sorted(((rev, rs) for rs in replicasets
                     if owned_by(rs, deployment) and (rev := revision(rs)) is not None),
                    key=lambda pair: pair[0], reverse=True)
    if len(ranked) < 2:
        raise RolloutError(f"no rollout history found for deployment {name}")
    (latest, _), (previous, target) = ranked[0], ranked[1]
    template = without_hash(target["spec"]["template"])
    plan = Plan(None, latest, previous, target["metadata"]["name"])
    if template == without_hash(deployment["spec"]["template"]):
        return plan
    current = deployment["metadata"].get("annotations", {})
    annotations = {k: v for k, v in current.items() if k in KEEP_ANNOTATIONS}
    annotations.update({k: v for k, v in target["metadata"].get("annotations", {}).items()
                        if k not in KEEP_ANNOTATIONS})
    patch = [{"op": "replace", "path": "/spec/template", "value": template},
             {"op": "replace", "path": "/metadata/annotations", "value": annotations}]
    return Plan(patch, latest, previous, target["metadata"]["name"])
