"""The kustomize base and example overlay: render, schemas, restricted pods, wiring."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate  # test extra; bundles the Kubernetes JSON schemas (offline)
import pytest
import yaml

from exporter.config.load import load_config
from exporter.config.model import DEFAULT_HTTP, DEFAULT_SOCKET
from exporter.responder.config import DEFAULT_LISTEN, KubernetesRollback
from exporter.responder.config_load import load as load_responder
from exporter.rulegen import load_groups
from tests.deploy import dockerfile, k8s
from tests.deploy.k8s import Obj, containers, find, one, pod_specs
from tests.paths import EXAMPLES
from tests.rules.rule_files import sidecar_job_regex

KUBERNETES_VERSION = "1.30.0"  # native sidecars are on by default from 1.29
EXAMPLE_NAMESPACE = "mlmon-example"


def _image_uid() -> int:
    """The Dockerfile's USER: the pods run the image as that UID and GID."""
    user = dockerfile.load(k8s.ROOT / "Dockerfile").stages[-1].last("USER")
    assert user is not None
    return int(user.args.partition(":")[0])


SECRETS = {"mlmon-alerting", "mlmon-responder-token"}


@pytest.fixture(scope="module")
def example() -> list[Obj]:
    return k8s.render(k8s.K8S / "overlays" / "example")


@pytest.fixture(scope="module")
def base() -> list[Obj]:
    return k8s.render(k8s.K8S / "base")


def _sidecar(objects: list[Obj]) -> tuple[Obj, Obj]:
    spec = one(objects, "Deployment", "fraud-model")["spec"]["template"]["spec"]
    (sidecar,) = [c for c in spec.get("initContainers", []) if c["name"] == "mlmon"]
    return spec, sidecar


def _arg(container: Obj, flag: str) -> str:
    args: list[str] = container["args"]
    return args[args.index(flag) + 1]


def test_both_render_with_every_kind(example: list[Obj], base: list[Obj]) -> None:
    kinds = {"Deployment", "PodMonitor", "PrometheusRule", "AlertmanagerConfig",
             "ServiceAccount", "Role", "RoleBinding", "Service", "NetworkPolicy", "ConfigMap"}
    assert kinds <= {o["kind"] for o in base}
    assert kinds | {"Namespace"} <= {o["kind"] for o in example}
    namespaced = [o for o in example if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {EXAMPLE_NAMESPACE}


def test_core_kinds_validate_strictly(example: list[Obj], base: list[Obj]) -> None:
    checked: set[str] = set()
    for obj in example + base:
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        checked.add(obj["kind"])
    assert checked == {"Namespace", "Deployment", "ServiceAccount", "Role", "RoleBinding",
                       "Service", "NetworkPolicy", "ConfigMap"}


def test_strict_validation_rejects_an_unknown_field(example: list[Obj]) -> None:
    bad = yaml.safe_load(yaml.safe_dump(one(example, "Deployment", "fraud-model")))
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)


def test_custom_resources_match_the_operator_schemas(example: list[Obj],
                                                     base: list[Obj]) -> None:
    custom = [o for o in example + base if o["apiVersion"].startswith("monitoring.coreos.com/")]
    assert {o["kind"] for o in custom} == {"PodMonitor", "PrometheusRule", "AlertmanagerConfig"}
    for obj in custom:
        assert k8s.crd_errors(obj) == [], obj["metadata"]["name"]


@pytest.mark.parametrize("kind, path, value, where", [
    # an unknown field is reported at its parent, naming the field
    ("PodMonitor", ("spec", "podMetricsEndpoints", 0, "portt"), "x",
     "spec/podMetricsEndpoints/0: "),
    # a bad value is reported at the field itself
    ("PodMonitor", ("spec", "podMetricsEndpoints", 0, "interval"), "15 seconds",
     "spec/podMetricsEndpoints/0/interval: "),
    ("AlertmanagerConfig", ("spec", "receivers", 0, "slackConfigs", 0, "apiUrl"), "x",
     "spec/receivers/0/slackConfigs/0: "),
    # child routes are checked as routes, named by their receiver
    ("AlertmanagerConfig", ("spec", "route", "routes", 0, "groupWait"), "soon",
     "route critical-rollback: groupWait: "),
    ("PrometheusRule", ("spec", "groups", 0, "rules", 0, "fore"), "5m",
     "spec/groups/0/rules/0: "),
])
def test_schema_check_catches_mistakes(example: list[Obj], kind: str, path: tuple[Any, ...],
                                       value: str, where: str) -> None:
    obj = yaml.safe_load(yaml.safe_dump(one(example, kind)))
    node = obj
    for key in path[:-1]:
        node = node[key]
    known = path[-1] in node
    node[path[-1]] = value
    (error,) = k8s.crd_errors(obj)  # this mistake only, not some other error
    assert error.startswith(where), error
    # the broken field is named: a bad value by its path, an unknown field in the message
    assert (f"{value!r} does not match" in error) if known else \
        (f"{path[-1]!r} was unexpected" in error), error


def test_every_container_is_limited_and_restricted(example: list[Obj]) -> None:
    uid = _image_uid()
    specs = list(pod_specs(example))
    assert len(specs) == 2
    for name, spec in specs:
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True, name
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name
        for c in containers(spec):
            where = f"{name}/{c['name']}"
            limits = c.get("resources", {}).get("limits", {})
            requests = c.get("resources", {}).get("requests", {})
            assert {"cpu", "memory"} <= set(limits) and {"cpu", "memory"} <= set(requests), where
            sc = {**pod, **c.get("securityContext", {})}
            assert sc.get("runAsNonRoot") is True, where
            assert sc.get("runAsUser") == uid and sc.get("runAsGroup") == uid, where
            assert c["securityContext"].get("allowPrivilegeEscalation") is False, where
            assert c["securityContext"].get("readOnlyRootFilesystem") is True, where
            assert c["securityContext"].get("capabilities", {}).get("drop") == ["ALL"], where
            assert not c["securityContext"].get("capabilities", {}).get("add"), where
            assert not c["securityContext"].get("privileged"), where
            assert sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
            for volume in spec.get("volumes", []):
                assert "hostPath" not in volume, where
    namespace = one(example, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_images_are_pinned_never_latest(example: list[Obj], base: list[Obj]) -> None:
    version = tomllib.loads((k8s.ROOT / "pyproject.toml").read_text())["project"]["version"]
    for objects in (example, base):
        for name, spec in pod_specs(objects):
            for c in containers(spec):
                image: str = c["image"]
                if "@sha256:" in image:
                    continue
                repository, _, tag = image.rpartition(":")
                assert repository and "/" not in tag, f"{name}/{c['name']}: {image} has no tag"
                assert tag != "latest", image
                if repository.endswith("mlmon"):
                    assert tag == version, f"{image}: tag the mlmon image {version}"


def test_secrets_are_referenced_never_inlined(example: list[Obj]) -> None:
    assert not find(example, "Secret")
    referenced: set[str] = set()
    for _, spec in pod_specs(example):
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                referenced.add(volume["secret"]["secretName"])
        for c in containers(spec):
            for env in c.get("env", []):
                assert not re.search(r"(?i)token|key|password|secret|webhook", env["name"]) \
                    or "valueFrom" in env, f"{c['name']}: {env['name']} given inline"
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    referenced.add(ref["name"])
    amc = one(example, "AlertmanagerConfig")
    for receiver in amc["spec"]["receivers"]:
        for slack in receiver.get("slackConfigs", []):
            referenced.add(slack["apiURL"]["name"])
        for pager in receiver.get("pagerdutyConfigs", []):
            assert "serviceKey" not in pager or "name" in pager["serviceKey"]
            referenced.add(pager["routingKey"]["name"])
        for hook in receiver.get("webhookConfigs", []):
            referenced.add(hook["httpConfig"]["authorization"]["credentials"]["name"])
    assert referenced == SECRETS
    text = yaml.safe_dump_all(example)
    assert "hooks.slack.com" not in text and "events.pagerduty.com" not in text


def test_sidecar_is_native_and_shares_the_socket(example: list[Obj]) -> None:
    spec, sidecar = _sidecar(example)
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["args"][0] == "serve"
    for probe in ("startupProbe", "readinessProbe"):
        assert sidecar[probe]["httpGet"]["path"] == "/readyz"
    assert sidecar["livenessProbe"]["httpGet"]["path"] == "/healthz"
    socket = Path(_arg(sidecar, "--socket"))
    assert socket == DEFAULT_SOCKET
    volumes = {v["name"]: v for v in spec["volumes"]}

    def volume_at(container: Obj, path: Path) -> str:
        mounts = [m for m in container["volumeMounts"]
                  if path == Path(m["mountPath"]) or Path(m["mountPath"]) in path.parents]
        assert mounts, f"{container['name']}: nothing mounted at {path}"
        return str(max(mounts, key=lambda m: len(m["mountPath"]))["name"])

    (model,) = spec["containers"]
    assert volume_at(sidecar, socket) == volume_at(model, socket)
    assert "emptyDir" in volumes[volume_at(model, socket)]
    env = {e["name"]: e.get("value") for e in model.get("env", [])}
    assert env.get("MLMON_SOCKET") == str(socket)
    state = volume_at(sidecar, Path(_arg(sidecar, "--state-file")))
    assert state != volume_at(sidecar, socket) and "emptyDir" in volumes[state]
    config = volume_at(sidecar, Path(_arg(sidecar, "--config")))
    assert volumes[config]["configMap"]["name"].startswith("mlmon-config")
    http_port = int(_arg(sidecar, "--http").rsplit(":", 1)[1])
    assert http_port == int(DEFAULT_HTTP.rsplit(":", 1)[1])
    assert [p["containerPort"] for p in sidecar["ports"]] == [http_port]


def test_podmonitor_selects_the_sidecar_port(example: list[Obj]) -> None:
    monitor = one(example, "PodMonitor")
    assert monitor["metadata"]["name"] == "mlmon"  # job <namespace>/mlmon, as the rules expect
    job = f"{monitor['metadata']['namespace']}/{monitor['metadata']['name']}"
    assert re.fullmatch(sidecar_job_regex(), job), job
    assert monitor["metadata"]["labels"]["release"]
    deployment = one(example, "Deployment", "fraud-model")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    responder = one(example, "Deployment", "mlmon-responder")
    responder_labels = responder["spec"]["template"]["metadata"]["labels"]
    assert not monitor["spec"]["selector"]["matchLabels"].items() <= responder_labels.items()
    _, sidecar = _sidecar(example)
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in sidecar["ports"]}


def test_prometheusrule_is_the_generated_one(example: list[Obj]) -> None:
    rule = one(example, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"]
    groups = {g["name"] for g in rule["spec"]["groups"]}
    assert groups == {g["name"] for g in load_groups(k8s.ROOT / "rules")}
    recorded = {r.get("record") for g in rule["spec"]["groups"] for r in g["rules"]}
    assert "model_version_feature:mlmon_feature_psi:fleet_rate1h" in recorded


def test_responder_role_allows_only_a_rollback(example: list[Obj]) -> None:
    role = one(example, "Role", "mlmon-responder")
    granted = {(tuple(r["apiGroups"]), tuple(r["resources"]), tuple(sorted(r["verbs"])))
               for r in role["rules"]}
    assert granted == {(("apps",), ("deployments",), ("get", "patch")),
                       (("apps",), ("replicasets",), ("list",))}
    assert not find(example, "ClusterRole") and not find(example, "ClusterRoleBinding")
    binding = one(example, "RoleBinding", "mlmon-responder")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    responder = one(example, "Deployment", "mlmon-responder")["spec"]["template"]["spec"]
    assert [s["name"] for s in binding["subjects"]] == [responder["serviceAccountName"]]
    model = one(example, "Deployment", "fraud-model")
    deployments = next(r for r in role["rules"] if r["resources"] == ["deployments"])
    assert model["metadata"]["name"] in deployments["resourceNames"]
    assert model["spec"]["revisionHistoryLimit"] >= 2  # something to roll back to


def test_only_alertmanager_reaches_the_responder(example: list[Obj]) -> None:
    policy = one(example, "NetworkPolicy", "mlmon-responder")
    responder = one(example, "Deployment", "mlmon-responder")
    pod_labels = responder["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]  # one peer: namespace AND pod selector must both match
    assert peer["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"}
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "alertmanager"}
    (container,) = responder["spec"]["template"]["spec"]["containers"]
    assert [p["port"] for p in rule["ports"]] == [container["ports"][0]["containerPort"]]
    service = one(example, "Service", "mlmon-responder")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
    # the port alertmanager/alertmanager.yml calls (exporter.demo.alertmanager_config.RESPONDER_URL)
    assert service["spec"]["ports"][0]["port"] == int(DEFAULT_LISTEN.rsplit(":", 1)[1])


def test_only_prometheus_reaches_the_sidecar_port(example: list[Obj]) -> None:
    policy = one(example, "NetworkPolicy", "fraud-model")
    model = one(example, "Deployment", "fraud-model")["spec"]["template"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= \
        model["metadata"]["labels"].items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    spec, sidecar = _sidecar(example)
    (sidecar_port,) = [p["containerPort"] for p in sidecar["ports"]]
    assert sidecar_port == int(DEFAULT_HTTP.rsplit(":", 1)[1])
    rules = policy["spec"]["ingress"]
    admitting = [r for r in rules if sidecar_port in [p["port"] for p in r["ports"]]]
    (rule,) = admitting  # no other rule opens the sidecar's port
    assert [p["port"] for p in rule["ports"]] == [sidecar_port]
    (peer,) = rule["from"]  # one peer: namespace AND pod selector must both match
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    # the namespace Alertmanager (kube-prometheus-stack) is admitted from, too
    responder_peer = one(example, "NetworkPolicy", "mlmon-responder")["spec"]["ingress"][0][
        "from"][0]
    assert peer["namespaceSelector"] == responder_peer["namespaceSelector"]
    # the model server's own ports stay reachable (a rule without `from` admits any peer)
    model_ports = {p["containerPort"] for c in spec["containers"] for p in c.get("ports", [])}
    open_ports = {p["port"] for r in rules if "from" not in r for p in r["ports"]}
    assert model_ports == open_ports and sidecar_port not in open_ports


def test_alertmanagerconfig_routes_to_existing_receivers(example: list[Obj]) -> None:
    spec = one(example, "AlertmanagerConfig")["spec"]
    receivers = {r["name"]: r for r in spec["receivers"]}
    routes = [spec["route"], *spec["route"]["routes"]]
    assert {r["receiver"] for r in routes} <= set(receivers)
    service = one(example, "Service", "mlmon-responder")
    port = service["spec"]["ports"][0]["port"]
    url = f"http://mlmon-responder.{EXAMPLE_NAMESPACE}.svc:{port}/v1/alerts"
    hooks = [h["url"] for r in receivers.values() for h in r.get("webhookConfigs", [])]
    assert hooks and set(hooks) == {url}

    def receiver_for(labels: dict[str, str]) -> str:
        for route in spec["route"]["routes"]:
            if all(_matches(m, labels) for m in route["matchers"]):
                return str(route["receiver"])
        return str(spec["route"]["receiver"])

    rollback = receivers[receiver_for({"severity": "critical", "action": "rollback"})]
    assert rollback.get("pagerdutyConfigs") and rollback.get("webhookConfigs")
    drift = receivers[receiver_for({"severity": "critical", "action": "notify"})]
    assert drift.get("pagerdutyConfigs") and drift.get("slackConfigs")
    retrain = receivers[receiver_for({"severity": "warning", "action": "retrain"})]
    assert retrain.get("slackConfigs") and retrain.get("webhookConfigs")
    info = receivers[receiver_for({"severity": "info", "action": "notify"})]
    assert info.get("slackConfigs") and not info.get("webhookConfigs")


def test_responder_url_follows_the_overlay_namespace(tmp_path: Path) -> None:
    """A copied overlay with another `namespace:` needs no edit of the webhook URLs."""
    copy = tmp_path / "k8s"
    shutil.copytree(k8s.K8S, copy)
    kustomization = copy / "overlays" / "example" / "kustomization.yaml"
    text = kustomization.read_text(encoding="utf-8")
    assert f"namespace: {EXAMPLE_NAMESPACE}\n" in text
    kustomization.write_text(text.replace(f"namespace: {EXAMPLE_NAMESPACE}\n",
                                          "namespace: team-a\n"), encoding="utf-8")
    objects = k8s.render(copy / "overlays" / "example")
    spec = one(objects, "AlertmanagerConfig")["spec"]
    port = one(objects, "Service", "mlmon-responder")["spec"]["ports"][0]["port"]
    hooks = [h["url"] for r in spec["receivers"] for h in r.get("webhookConfigs", [])]
    assert len(hooks) == 2
    assert set(hooks) == {f"http://mlmon-responder.team-a.svc:{port}/v1/alerts"}


def _am_matchers(strings: list[str]) -> frozenset[tuple[str, str, str]]:
    out = set()
    for text in strings:
        match = re.fullmatch(r'\s*(\w+)\s*(=~|!~|!=|=)\s*"(.*)"\s*', text)
        assert match, f"cannot read matcher {text!r}"
        out.add((match[1], match[2], match[3]))
    return frozenset(out)


def test_alertmanagerconfig_mirrors_alertmanager_yml(example: list[Obj]) -> None:
    """Same matchers, timings and inhibitions as alertmanager/alertmanager.yml."""
    reference = yaml.safe_load((k8s.ROOT / "alertmanager" / "alertmanager.yml").read_text())
    spec = one(example, "AlertmanagerConfig")["spec"]
    timing = ("group_wait", "group_interval", "repeat_interval")
    am_routes = {_am_matchers(r["matchers"]): tuple(r[t] for t in timing)
                 for r in reference["route"]["routes"] if not r.get("continue")}
    for route in spec["route"]["routes"]:
        matchers = frozenset((m["name"], m["matchType"], m["value"]) for m in route["matchers"])
        assert matchers in am_routes, f"no route {sorted(matchers)} in alertmanager.yml"
        assert (route["groupWait"], route["groupInterval"], route["repeatInterval"]) == \
            am_routes[matchers], route["receiver"]
    assert len(spec["route"]["routes"]) == len(am_routes)
    assert sorted(spec["route"]["groupBy"]) == sorted(reference["route"]["group_by"])
    inhibit = {(_am_matchers(r["source_matchers"]), _am_matchers(r["target_matchers"]),
                tuple(r["equal"])) for r in reference["inhibit_rules"]}
    mine = {(frozenset((m["name"], m["matchType"], m["value"]) for m in r["sourceMatch"]),
             frozenset((m["name"], m["matchType"], m["value"]) for m in r["targetMatch"]),
             tuple(r["equal"])) for r in spec["inhibitRules"]}
    assert mine == inhibit


def _matches(matcher: dict[str, str], labels: dict[str, str]) -> bool:
    value = labels.get(matcher["name"], "")
    op = matcher.get("matchType", "=")
    if op in ("=~", "!~"):
        hit = re.fullmatch(matcher["value"], value) is not None
        return hit if op == "=~" else not hit
    return (value == matcher["value"]) == (op == "=")


def test_overlay_configs_load_and_agree(example: list[Obj], tmp_path: Path) -> None:
    overlay = k8s.K8S / "overlays" / "example"
    for name in ("mlmon.yaml", "profile.json"):
        bundled = EXAMPLES / "fraud" / name
        assert (overlay / "model" / name).read_bytes() == bundled.read_bytes(), \
            f"cp {bundled.relative_to(k8s.ROOT)} {overlay.relative_to(k8s.ROOT)}/model/"
    config_map = one(example, "ConfigMap", "mlmon-config")
    for key, text in config_map["data"].items():
        (tmp_path / key).write_text(text)
    config = load_config(tmp_path / "mlmon.yaml")
    assert [m.name for m in config.models] == ["fraud"]
    responder_map = one(example, "ConfigMap", "mlmon-responder-config")
    (tmp_path / "responder.yaml").write_text(responder_map["data"]["responder.yaml"])
    responder = load_responder(tmp_path / "responder.yaml")
    deployment = one(example, "Deployment", "mlmon-responder")["spec"]["template"]["spec"]
    (container,) = deployment["containers"]
    assert int(responder.listen.rsplit(":", 1)[1]) == container["ports"][0]["containerPort"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["volumes"]}
    token_volume = volumes[mounts[str(responder.token_file.parent)]]
    assert token_volume["secret"]["secretName"] == "mlmon-responder-token"
    assert "emptyDir" in volumes[mounts[str(responder.state_dir)]]
    assert {m.name for m in config.models} <= set(responder.models)
    rollback = responder.models["fraud"].rollback
    assert rollback is not None and isinstance(rollback.backend, KubernetesRollback)
    assert rollback.backend.namespace == EXAMPLE_NAMESPACE
    assert rollback.backend.deployment == "fraud-model"


def test_config_maps_fit(example: list[Obj]) -> None:
    for cm in find(example, "ConfigMap"):
        size = sum(len(v.encode()) for v in cm.get("data", {}).values())
        assert size < 1024 * 1024, cm["metadata"]["name"]
    dashboard = one(example, "ConfigMap", "mlmon-grafana-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"



def _camel(key: str) -> str:
    """alertmanager.yml's key as the AlertmanagerConfig CRD spells it (send_resolved ->
    sendResolved)."""
    first, *rest = key.split("_")
    return first + "".join(part.title() for part in rest)


def _routing(route: Obj, receivers: list[Obj], camel: bool) -> tuple[Any, ...]:
    """Route order, receivers, timings and what each routed receiver sends, in one shape
    for alertmanager.yml (``camel=False``) and the AlertmanagerConfig (``camel=True``)."""
    def key(name: str) -> str:
        return _camel(name) if camel else name

    def timings(node: Obj) -> tuple[str, ...]:
        return tuple(str(node[key(k)]) for k in ("group_wait", "group_interval",
                                                   "repeat_interval"))

    def matchers(node: Obj) -> frozenset[tuple[str, str, str]]:
        if camel:
            return frozenset((m["name"], m["matchType"], m["value"]) for m in node["matchers"])
        return _am_matchers(node["matchers"])

    def sends(receiver: Obj) -> dict[str, list[tuple[Any, ...]]]:
        resolved = key("send_resolved")
        return {
            "slack": sorted((s["channel"], s.get(resolved, False))
                            for s in receiver.get(key("slack_configs"), [])),
            "pagerduty": sorted((p["severity"], p["class"], p["group"], p["component"],
                                 p.get(resolved, True))
                                for p in receiver.get(key("pagerduty_configs"), [])),
            "webhook": sorted((h[key("http_config")]["authorization"]["type"],
                               h.get(resolved, True), h.get(key("max_alerts"), 0))
                              for h in receiver.get(key("webhook_configs"), [])),
        }

    children = [(r["receiver"], matchers(r), timings(r)) for r in route["routes"]
                if not r.get("continue")]  # the e-mail route needs Alertmanager's own SMTP
    routed = {route["receiver"], *(name for name, _, _ in children)}
    return ((route["receiver"], timings(route)), children,
            {r["name"]: sends(r) for r in receivers if r["name"] in routed})


def test_alertmanagerconfig_matches_alertmanager_yml_route_by_route(
        example: list[Obj]) -> None:
    """Route order (the first match wins), root timings, and every receiver's channels,
    PagerDuty fields, webhooks and send_resolved, as in alertmanager/alertmanager.yml."""
    reference = yaml.safe_load((k8s.ROOT / "alertmanager" / "alertmanager.yml").read_text())
    spec = one(example, "AlertmanagerConfig")["spec"]
    assert {r["name"] for r in spec["receivers"]} <= {r["name"] for r in reference["receivers"]}
    assert _routing(spec["route"], spec["receivers"], camel=True) == \
        _routing(reference["route"], reference["receivers"], camel=False)


def test_profile_from_image_patch_follows_its_steps(tmp_path: Path) -> None:
    """The optional patch for big profiles, applied as its header says, renders a valid pod
    whose sidecar reads the profile the init container copies, before the sidecar starts."""
    copy = tmp_path / "k8s"
    shutil.copytree(k8s.K8S, copy)
    overlay = copy / "overlays" / "example"
    kustomization = overlay / "kustomization.yaml"
    text = kustomization.read_text(encoding="utf-8")
    assert "      - profile.json=model/profile.json\n" in text and "\npatches:\n" in text
    text = text.replace("      - profile.json=model/profile.json\n", "").replace(
        "\npatches:\n", "\npatches:\n  - path: profile-from-image.yaml\n"
        "    target: {kind: Deployment, name: fraud-model}\n")
    kustomization.write_text(text, encoding="utf-8")
    config = overlay / "model" / "mlmon.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "profile: profile.json", "profile: /var/lib/mlmon-profile/profile.json"),
        encoding="utf-8")
    objects = k8s.render(overlay)
    test_every_container_is_limited_and_restricted(objects)
    test_images_are_pinned_never_latest(objects, [])
    deployment = one(objects, "Deployment", "fraud-model")
    kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    spec, sidecar = _sidecar(objects)
    fetch = spec["initContainers"][0]
    assert fetch["name"] == "fetch-profile" and "restartPolicy" not in fetch
    config_map = one(objects, "ConfigMap", "mlmon-config")
    assert set(config_map["data"]) == {"mlmon.yaml"}
    (tmp_path / "mlmon.yaml").write_text(config_map["data"]["mlmon.yaml"])
    (profile,) = [m.profile for m in load_config(tmp_path / "mlmon.yaml").models]
    assert profile is not None and fetch["command"][-1] == str(profile)
    mounts = {c["name"]: {m["name"]: m for m in c["volumeMounts"]} for c in (fetch, sidecar)}
    (volume,) = [v for v in spec["volumes"] if v["name"] == "mlmon-profile"]
    assert "emptyDir" in volume
    for name, mount in ((c, mounts[c]["mlmon-profile"]) for c in mounts):
        assert Path(mount["mountPath"]) == profile.parent, name
    assert mounts["mlmon"]["mlmon-profile"]["readOnly"] is True
