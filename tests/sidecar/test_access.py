"""POST /v1/events: loopback peers only by default; a bearer token opens it to others."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from exporter.sidecar.access import is_loopback, refusal
from exporter.sidecar.runtime import Sidecar
from tests.factories import config, fraud_model
from tests.sidecar.threaded import ndjson, running

TOKEN = "s3cret-token-0123456789"
EVENT = ndjson([{"v": 1, "model": "fraud", "prediction": 0.5}])


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.200.3.4", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.1", False), ("192.168.1.20", False), ("0.0.0.0", False), ("::ffff:10.1.2.3", False),
    ("2001:db8::1", False), ("fe80::1%eth0", False), ("localhost", False), ("", False),
    (None, False),
])
def test_loopback_addresses(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_refusal_without_a_token_admits_only_loopback() -> None:
    assert refusal("127.0.0.1", None, None) is None
    assert refusal("::1", None, "Bearer anything") is None
    status, reason = refusal("10.0.0.7", None, None) or (0, "")
    assert status == 403 and "10.0.0.7" in reason and "server.ingest_token_file" in reason


def test_refusal_with_a_token_wants_it_from_every_peer() -> None:
    token = TOKEN.encode()
    assert refusal("10.0.0.7", token, f"Bearer {TOKEN}") is None
    assert refusal("10.0.0.7", token, f"bearer {TOKEN}") is None  # the scheme is case-blind
    for auth in (None, "", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer ",
                 f"Bearer {TOKEN[:-1]}"):
        for peer in ("127.0.0.1", "10.0.0.7"):
            assert (refusal(peer, token, auth) or (0, ""))[0] == 401, (peer, auth)


def _post(url: str, auth: str | None) -> tuple[int, str | None]:
    headers = {"Authorization": auth} if auth is not None else {}
    req = urllib.request.Request(url + "/v1/events", data=EVENT, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, None
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get("WWW-Authenticate")


def test_a_real_server_wants_the_token_when_one_is_configured(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    cfg = config(fraud_model(), ingest_token_file=token_file)
    with running(Sidecar(cfg, {})) as r:
        assert _post(r.http, None) == (401, "Bearer")
        assert _post(r.http, "Bearer wrong-token-0123456789") == (401, "Bearer")
        assert _post(r.http, f"Bearer {TOKEN}") == (202, None)
        r.settle(1)
        assert r.sidecar.store.received["http"] == 1  # refused posts were never read


def test_a_real_server_without_a_token_takes_posts_from_loopback() -> None:
    with running(Sidecar(config(fraud_model()), {})) as r:
        assert r.http.startswith("http://127.0.0.1:")
        assert _post(r.http, None) == (202, None)
