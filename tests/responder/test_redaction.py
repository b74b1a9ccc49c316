"""Secrets in backend URLs (a Slack-style path, a ``?token=`` query) never reach the log,
the audit file or the webhook reply: on success, on an HTTP 500, on an unreachable port and
on an aiohttp error whose message carries the URL. The host stays, so the audit says where."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from exporter.config.errors import ConfigError
from exporter.responder.app import build_app
from exporter.responder.clock import ManualClock
from exporter.responder.config_load import load
from exporter.responder.redact import redact, redact_url
from tests.responder.alerts import T0, alert, body
from tests.responder.service import audit_lines, auth, serve, write_config
from tests.responder.sink import Sink

SECRET_PATH = "/services/T000/B000/XXXXSECRETXXXX"
SECRET_QUERY = "token=YYYYQUERYSECRETYYYY"
SECRETS = ("XXXXSECRETXXXX", "YYYYQUERYSECRETYYYY", "T000/B000")
MODELS = ("ok", "http500", "redirects", "unreachable")


def _config(tmp_path: Path, sink_url: str, dead_url: str) -> Path:
    urls = {"ok": sink_url, "http500": sink_url, "redirects": sink_url, "unreachable": dead_url}
    return write_config(tmp_path, "".join(
        f'  - name: {m}\n    rollback: {{backend: webhook, url: "{urls[m]}{SECRET_PATH}'
        f'?{SECRET_QUERY}"}}\n' for m in MODELS))


def test_secrets_stay_out_of_audit_log_and_reply(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture,
                                                 port: int) -> None:
    caplog.set_level(logging.DEBUG)
    sink = Sink()
    dead = f"http://127.0.0.1:{port}"  # bound, never listening (tests/conftest.py)
    replies: list[Any] = []

    async def main() -> str:
        async with serve(sink.app()) as sink_url, aiohttp.ClientSession() as session:
            app = build_app(load(_config(tmp_path, sink_url, dead)),
                            ManualClock(T0 + 3600), poll=False)
            async with serve(app) as url:
                for model, statuses in (("ok", []), ("http500", [500] * 3),
                                        ("redirects", [307] * 60), ("unreachable", [])):
                    sink.statuses = list(statuses)
                    data = body(alert(model=model, fingerprint=model))
                    async with session.post(f"{url}/v1/alerts", headers=auth(),
                                            data=data) as resp:
                        assert resp.status == 200
                        replies.append(await resp.text())
            return sink_url

    sink_url = asyncio.run(main())
    assert [r.path for r in sink.received][:2] == [SECRET_PATH] * 2  # the secret URL was used
    records = audit_lines(tmp_path / "state")
    assert [(r["model"], r["result"]) for r in records] == [
        ("ok", "ok"), ("http500", "failed"), ("redirects", "failed"), ("unreachable", "failed")]
    audit = (tmp_path / "state" / "audit.jsonl").read_text()
    logged = caplog.text
    for text in (audit, logged, *replies):
        for secret in SECRETS:
            assert secret not in text, text
    by_model = {r["model"]: r["detail"] for r in records}
    for model in ("ok", "http500", "redirects"):
        assert f"{sink_url}/…" in by_model[model]  # scheme and host stay
    assert f"{dead}/…" in by_model["unreachable"]
    assert "HTTP 500" in by_model["http500"]
    assert "TooManyRedirects" in by_model["redirects"]
    assert "ClientConnectorError" in by_model["unreachable"]
    for model in MODELS:
        assert f"model={model}" in logged


def test_logged_exceptions_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """A traceback logged on the responder's logger (the retrain poller's log.exception)."""
    log = logging.getLogger("mlmon.responder")
    url = f"https://hooks.slack.com{SECRET_PATH}?{SECRET_QUERY}"
    try:
        raise RuntimeError(f"cannot reach {url}")
    except RuntimeError:
        log.exception("retrain queue check failed for %s", url)
    assert "https://hooks.slack.com/…" in caplog.text
    assert not any(s in caplog.text for s in SECRETS), caplog.text


def test_redact_keeps_scheme_and_host_only() -> None:
    assert redact_url(f"https://hooks.slack.com{SECRET_PATH}") == "https://hooks.slack.com/…"
    assert redact_url("https://user:pw@mlflow.example:5000/") == "https://mlflow.example:5000/"
    assert redact_url("http://kfp:8888?token=x") == "http://kfp:8888/…"
    assert redact_url("http://kfp:8888") == "http://kfp:8888"
    text = (f"attempt 1: POST https://hooks.slack.com{SECRET_PATH}?{SECRET_QUERY}: HTTP 500; "
            f"attempt 2: TooManyRedirects: 10, message='', "
            f"url='http://127.0.0.1:9/a/b?{SECRET_QUERY}'")
    assert redact(text) == ("attempt 1: POST https://hooks.slack.com/…: HTTP 500; "
                            "attempt 2: TooManyRedirects: 10, message='', "
                            "url='http://127.0.0.1:9/…'")
    assert redact_url(f"hooks.slack.com{SECRET_PATH}") == "hooks.slack.com/…"  # no scheme


def test_a_mistyped_url_is_named_without_its_path(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"""\
  - name: fraud
    rollback: {{backend: webhook, url: "hooks.slack.com{SECRET_PATH}?{SECRET_QUERY}"}}
""")
    with pytest.raises(ConfigError) as info:
        load(config)
    assert "'hooks.slack.com/…' is not an http(s) URL" in str(info.value)
    assert not any(s in str(info.value) for s in SECRETS)
