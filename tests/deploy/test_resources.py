"""The sidecar's requests and limits: the manifest says what docs/deploy.md#resources says,
and they are consistent with each other and with the memory targets they come from."""

from __future__ import annotations

import re

import pytest

from tests.deploy import k8s
from tests.deploy.k8s import Obj, one
from tests.paths import ROOT

DEPLOY_MD = ROOT / "docs" / "deploy.md"
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
MEMORY_TARGET_2X50 = 160 * 2**20  # bytes: issue 15, the 2 x 50-feature case (bench/memory.py)


def _documented() -> dict[str, dict[str, str]]:
    """The Resources table of docs/deploy.md: row (requests, limits) -> {cpu, memory}."""
    text = DEPLOY_MD.read_text(encoding="utf-8")
    section = text.split("\n## Resources\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, dict[str, str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] in ("requests", "limits"):
            cpu, memory = (re.fullmatch(r"`([^`]+)`", c) for c in cells[1:3])
            assert cpu and memory, line
            rows[cells[0]] = {"cpu": cpu.group(1), "memory": memory.group(1)}
    return rows


def _sidecar_resources() -> Obj:
    objects = k8s.render(k8s.K8S / "base")
    spec = one(objects, "Deployment", "fraud-model")["spec"]["template"]["spec"]
    (sidecar,) = [c for c in spec["initContainers"] if c["name"] == "mlmon"]
    resources: Obj = sidecar["resources"]
    return resources


def _millicores(value: str) -> float:
    return float(value[:-1]) if value.endswith("m") else float(value) * 1000


def _bytes(value: str) -> int:
    return int(value[:-2]) * UNITS[value[-2:]]


@pytest.fixture(scope="module")
def resources() -> Obj:
    return _sidecar_resources()


def test_the_manifest_says_what_the_docs_say(resources: Obj) -> None:
    documented = _documented()
    assert set(documented) == {"requests", "limits"}
    for kind in ("requests", "limits"):
        assert {k: str(v) for k, v in resources[kind].items()} == documented[kind], kind


def test_requests_fit_the_limits_and_the_limit_covers_the_memory_target(
        resources: Obj) -> None:
    req, lim = resources["requests"], resources["limits"]
    assert _millicores(str(req["cpu"])) <= _millicores(str(lim["cpu"]))
    assert _bytes(str(req["memory"])) <= _bytes(str(lim["memory"]))
    # the limit leaves headroom over the largest documented case, never less than it
    assert _bytes(str(lim["memory"])) >= 1.25 * MEMORY_TARGET_2X50
