"""Decoding Alertmanager webhook payloads (shape: Alertmanager docs, <webhook_config>)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from exporter.responder.payload import PayloadError, decode
from tests.responder.alerts import alert, payload


def test_decodes_every_field_of_a_version_4_payload() -> None:
    raw = payload(alert(fingerprint="1a30ba71cca2921f", starts_at="2023-02-06T13:08:45.828Z"))
    p = decode(json.dumps(raw).encode())
    assert (p.version, p.status, p.receiver, p.truncated_alerts) == ("4", "firing",
                                                                     "mlmon-responder", 0)
    assert p.external_url == "http://127.0.0.1:9093"
    assert p.group_key == '{}:{alertname="MlmonAccuracyBelowFloor"}'
    assert p.common_labels["model"] == "fraud"
    a = p.alerts[0]
    assert a.labels["action"] == "rollback"
    assert a.starts_at == datetime(2023, 2, 6, 13, 8, 45, 828000, tzinfo=UTC)
    assert a.ends_at == datetime(1, 1, 1, tzinfo=UTC)  # Alertmanager's "no end yet"
    assert a.generator_url.startswith("http://127.0.0.1:9090/graph")
    assert a.key == "1a30ba71cca2921f@2023-02-06T13:08:45.828000+00:00"


def test_same_instant_in_another_offset_is_the_same_key() -> None:
    a = decode(json.dumps(payload(alert(starts_at="2026-11-26T01:00:00+01:00"))).encode())
    b = decode(json.dumps(payload(alert(starts_at="2026-11-26T00:00:00Z"))).encode())
    assert a.alerts[0].starts_at == b.alerts[0].starts_at


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda p: p.update(version="3"), "unsupported payload version '3'"),
    (lambda p: p.pop("alerts"), "missing required field `alerts`"),
    (lambda p: p.update(status="pending"), "$.status"),
    (lambda p: p["alerts"][0].update(startsAt="yesterday"), "$.alerts[0].startsAt"),
    (lambda p: p["alerts"][0]["labels"].update(model=3), "$.alerts[0].labels"),
    (lambda p: p["alerts"][0].update(fingerprint=""), "alerts[0].fingerprint is empty"),
])
def test_rejects_malformed_payloads_with_the_reason(mutate: object, needle: str) -> None:
    raw = payload(alert())
    mutate(raw)  # type: ignore[operator]
    with pytest.raises(PayloadError) as info:
        decode(json.dumps(raw).encode())
    assert needle in str(info.value)


def test_rejects_a_body_that_is_not_json() -> None:
    with pytest.raises(PayloadError, match="not JSON"):
        decode(b"{not json")
