"""Kubernetes rollback against a loopback API server (see fake_k8s for the API reference)."""

from __future__ import annotations

import asyncio
import copy
import ssl
import subprocess
from pathlib import Path

import pytest

from exporter.responder.backend_protocol import ActionRequest, BackendError, run_with_retries
from exporter.responder.clock import ManualClock
from exporter.responder.config import KubernetesRollback, RetryPolicy
from exporter.responder.http import HttpClient
from exporter.responder.kubernetes import KubernetesBackend, in_cluster_url
from tests.procs import require_binary
from tests.responder.fake_k8s import FakeKubernetes
from tests.responder.k8s_objects import deployment, replicaset
from tests.responder.service import serve

REQUEST = ActionRequest("fraud", "3", "MlmonAccuracyBelowFloor", "rollback", "f00d")


def make(tmp_path: Path, fake: FakeKubernetes, url: str, name: str = "fraud-model"
         ) -> tuple[KubernetesBackend, HttpClient]:
    token = tmp_path / "sa-token"
    token.write_text("sa-token-value\n")
    http = HttpClient(5.0)
    cfg = KubernetesRollback("prod", name, url, token, None)
    return KubernetesBackend(cfg, http), http


def test_rollback_patches_exactly_the_previous_template(tmp_path: Path) -> None:
    rs = [replicaset(1, "fraud:v1"), replicaset(2, "fraud:v2"), replicaset(3, "fraud:v3")]
    fake = FakeKubernetes("sa-token-value", deployment("fraud:v3", 3), rs)

    async def scenario() -> str:
        async with serve(fake.app()) as url:
            backend, http = make(tmp_path, fake, url)
            try:
                return await backend.execute(REQUEST)
            finally:
                await http.close()

    detail = asyncio.run(scenario())
    assert "from revision 3 to 2" in detail and "fraud-rs2" in detail
    assert fake.selectors == ["app=fraud,tier=model"]
    assert len(fake.patches) == 1
    ctype, body = fake.patches[0]
    assert ctype == "application/json-patch+json"
    expected = copy.deepcopy(rs[1]["spec"]["template"])
    del expected["metadata"]["labels"]["pod-template-hash"]
    assert body[0] == {"op": "replace", "path": "/spec/template", "value": expected}
    assert fake.deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "fraud:v2"
    assert fake.deployment["metadata"]["annotations"]["team"] == "ml-v2"


def test_missing_deployment_fails_without_retry(tmp_path: Path) -> None:
    fake = FakeKubernetes("sa-token-value", deployment(), [replicaset(1, "a")])

    async def scenario() -> tuple[bool, str, int, list[float]]:
        clock = ManualClock(0.0)
        async with serve(fake.app()) as url:
            backend, http = make(tmp_path, fake, url, name="nope")
            try:
                out = await run_with_retries(backend, REQUEST, RetryPolicy(4, 1.0), clock)
            finally:
                await http.close()
        return out.ok, out.detail, out.attempts, clock.slept

    ok, detail, attempts, slept = asyncio.run(scenario())
    assert not ok and attempts == 1 and slept == []
    assert 'HTTP 404' in detail and 'deployments.apps \\"nope\\" not found' in detail


def test_server_errors_are_retried_with_exponential_backoff(tmp_path: Path) -> None:
    rs = [replicaset(1, "fraud:v1"), replicaset(2, "fraud:v2")]
    fake = FakeKubernetes("sa-token-value", deployment("fraud:v2", 2), rs, fail_next=[503, 500])

    async def scenario() -> tuple[bool, int, list[float]]:
        clock = ManualClock(0.0)
        async with serve(fake.app()) as url:
            backend, http = make(tmp_path, fake, url)
            try:
                out = await run_with_retries(backend, REQUEST, RetryPolicy(4, 1.5, 30.0), clock)
            finally:
                await http.close()
        return out.ok, out.attempts, clock.slept

    ok, attempts, slept = asyncio.run(scenario())
    assert ok and attempts == 3
    assert slept == [1.5, 3.0]  # 1.5 * 2**0, 1.5 * 2**1
    assert fake.deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "fraud:v1"


def test_wrong_token_is_not_retried(tmp_path: Path) -> None:
    fake = FakeKubernetes("another-token", deployment(), [])

    async def scenario() -> None:
        async with serve(fake.app()) as url:
            backend, http = make(tmp_path, fake, url)
            try:
                with pytest.raises(BackendError) as info:
                    await backend.execute(REQUEST)
            finally:
                await http.close()
        assert not info.value.retryable and "HTTP 401" in str(info.value)

    asyncio.run(scenario())


def test_in_cluster_url_from_service_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert in_cluster_url() == "https://10.96.0.1:443"
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    assert in_cluster_url() == "https://[fd00::1]:443"
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    with pytest.raises(BackendError, match="not running in a cluster"):
        in_cluster_url()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    openssl = require_binary("openssl")  # fails under CI=true, skips elsewhere
    cert, key = tmp_path / "apiserver.crt", tmp_path / "apiserver.key"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=kubernetes", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_tls_is_verified_against_the_service_account_ca(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    rs = [replicaset(1, "fraud:v1"), replicaset(2, "fraud:v2")]
    fake = FakeKubernetes("sa-token-value", deployment("fraud:v2", 2), rs)
    (tmp_path / "sa-token").write_text("sa-token-value")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    async def scenario() -> tuple[str, str]:
        async with serve(fake.app(), tls) as url:
            assert url.startswith("https://")
            http = HttpClient(5.0)
            try:
                trusted = KubernetesBackend(KubernetesRollback(
                    "prod", "fraud-model", url, tmp_path / "sa-token", cert), http)
                untrusted = KubernetesBackend(KubernetesRollback(
                    "prod", "fraud-model", url, tmp_path / "sa-token", None), http)
                with pytest.raises(BackendError) as info:
                    await untrusted.execute(REQUEST)
                return await trusted.execute(REQUEST), str(info.value)
            finally:
                await http.close()

    detail, refused = asyncio.run(scenario())
    assert "from revision 2 to 1" in detail
    assert "Certificate" in refused and len(fake.patches) == 1
