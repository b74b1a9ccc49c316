"""Alertmanager webhook payload (version 4), decoded with msgspec.

Shape from the Alertmanager docs (configuration, ``<webhook_config>``):
https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

Status = Literal["firing", "resolved"]
AlertKey = str  # one firing of one alert: "<fingerprint>@<startsAt ISO 8601>"


class Alert(msgspec.Struct, frozen=True):
    status: Status
    labels: dict[str, str]
    starts_at: datetime = msgspec.field(name="startsAt")
    fingerprint: str = ""
    annotations: dict[str, str] = msgspec.field(default_factory=dict)
    ends_at: datetime | None = msgspec.field(default=None, name="endsAt")
    generator_url: str = msgspec.field(default="", name="generatorURL")

    @property
    def key(self) -> AlertKey:
        """Identity of one firing of one alert: fingerprint + startsAt."""
        return f"{self.fingerprint}@{self.starts_at.isoformat()}"


class WebhookPayload(msgspec.Struct, frozen=True):
    version: str
    status: Status
    alerts: list[Alert]
    receiver: str = ""
    group_key: str = msgspec.field(default="", name="groupKey")
    truncated_alerts: int = msgspec.field(default=0, name="truncatedAlerts")
    group_labels: dict[str, str] = msgspec.field(default_factory=dict, name="groupLabels")
    common_labels: dict[str, str] = msgspec.field(default_factory=dict, name="commonLabels")
    common_annotations: dict[str, str] = msgspec.field(default_factory=dict,
                                                       name="commonAnnotations")
    external_url: str = msgspec.field(default="", name="externalURL")


SUPPORTED_VERSION = "4"

_decoder = msgspec.json.Decoder(WebhookPayload)


class PayloadError(ValueError):
    """A webhook body that is not a valid version-4 Alertmanager payload."""


def decode(body: bytes) -> WebhookPayload:
    try:
        payload = _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"invalid Alertmanager payload: {exc}") from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"body is not JSON: {exc}") from None
    if payload.version != SUPPORTED_VERSION:
        raise PayloadError(f"unsupported payload version {payload.version!r} "
                           f"(expected {SUPPORTED_VERSION!r})")
    for i, alert in enumerate(payload.alerts):
        if not alert.fingerprint:
            raise PayloadError(f"alerts[{i}].fingerprint is empty")
    return payload
