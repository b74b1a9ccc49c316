"""apps/v1 Deployment and ReplicaSet objects shaped like the API server returns them."""

from __future__ import annotations

from typing import Any

UID = "0f3c1d2e-9a7b-4c1d-8e2f-1234567890ab"


def _template(image: str, pod_hash: str | None) -> dict[str, Any]:
    labels = {"app": "fraud", "tier": "model"}
    if pod_hash is not None:
        labels["pod-template-hash"] = pod_hash
    return {"metadata": {"labels": labels, "annotations": {"mlmon.io/tap": "unix"}},
            "spec": {"containers": [{"name": "model", "image": image,
                                     "env": [{"name": "MODEL_IMAGE", "value": image}],
                                     "ports": [{"containerPort": 8080, "protocol": "TCP"}]}],
                     "restartPolicy": "Always", "terminationGracePeriodSeconds": 30}}


def deployment(image: str = "fraud:v3", revision: int = 3) -> dict[str, Any]:
    return {
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": "fraud-model", "namespace": "prod", "uid": UID,
                     "resourceVersion": "4711", "generation": revision,
                     "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                     "kubectl.kubernetes.io/last-applied-configuration": "{}",
                                     "team": "ml-v3"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "fraud", "tier": "model"}},
                 "template": _template(image, None),
                 "strategy": {"type": "RollingUpdate"}, "revisionHistoryLimit": 10},
        "status": {"observedGeneration": revision, "replicas": 2},
    }


def replicaset(revision: int, image: str, owner_uid: str = UID) -> dict[str, Any]:
    pod_hash = f"{revision:x}a1b2c3"
    return {
        "kind": "ReplicaSet", "apiVersion": "apps/v1",
        "metadata": {"name": f"fraud-rs{revision}", "namespace": "prod",
                     "labels": {"app": "fraud", "tier": "model", "pod-template-hash": pod_hash},
                     "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                     "deployment.kubernetes.io/desired-replicas": "2",
                                     "deployment.kubernetes.io/max-replicas": "3",
                                     "team": f"ml-v{revision}"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                          "name": "fraud-model", "uid": owner_uid,
                                          "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "fraud", "tier": "model",
                                                              "pod-template-hash": pod_hash}},
                 "template": _template(image, pod_hash)},
    }
