"""``kubectl rollout undo`` logic on apps/v1 Deployment and ReplicaSet objects.

Object shapes: https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/
(deployment-v1, replica-set-v1); the revision annotation and the pod-template-hash label
are set by the Deployment controller.
"""

from __future__ import annotations

import copy

import pytest

from exporter.responder.rollout import RolloutError, plan_undo, selector_string
from tests.responder.k8s_objects import deployment, replicaset


def test_previous_revision_template_without_hash_label() -> None:
    d = deployment(image="fraud:v3", revision=3)
    rs = [replicaset(1, "fraud:v1"), replicaset(3, "fraud:v3"), replicaset(2, "fraud:v2"),
          replicaset(9, "other:v9", owner_uid="someone-else")]
    plan = plan_undo(d, rs)
    assert (plan.from_revision, plan.to_revision, plan.replicaset) == (3, 2, "fraud-rs2")
    assert plan.patch is not None
    expected_template = copy.deepcopy(rs[2]["spec"]["template"])
    del expected_template["metadata"]["labels"]["pod-template-hash"]
    assert plan.patch[0] == {"op": "replace", "path": "/spec/template",
                             "value": expected_template}
    assert expected_template["spec"]["containers"][0]["image"] == "fraud:v2"
    # The Deployment keeps its own bookkeeping annotations; the revision's others come back.
    assert plan.patch[1] == {"op": "replace", "path": "/metadata/annotations", "value": {
        "deployment.kubernetes.io/revision": "3",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        "team": "ml-v2",
    }}


def test_nothing_to_do_when_previous_template_is_live() -> None:
    d = deployment(image="fraud:v2", revision=3)
    plan = plan_undo(d, [replicaset(3, "fraud:v3"), replicaset(2, "fraud:v2")])
    assert plan.patch is None and plan.to_revision == 2


def test_refuses_without_history_or_when_paused() -> None:
    with pytest.raises(RolloutError, match="no rollout history"):
        plan_undo(deployment(), [replicaset(1, "fraud:v1"),
                                 replicaset(7, "x", owner_uid="other")])
    paused = deployment()
    paused["spec"]["paused"] = True
    with pytest.raises(RolloutError, match="paused"):
        plan_undo(paused, [replicaset(1, "a"), replicaset(2, "b")])


def test_selector_string_follows_label_selector_syntax() -> None:
    assert selector_string({"matchLabels": {"app": "fraud", "tier": "model"}, "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["prod", "canary"]},
        {"key": "legacy", "operator": "DoesNotExist"},
        {"key": "zone", "operator": "NotIn", "values": ["a"]},
        {"key": "track", "operator": "Exists"},
    ]}) == "app=fraud,tier=model,env in (prod,canary),!legacy,zone notin (a),track"
    with pytest.raises(RolloutError):
        selector_string({})
