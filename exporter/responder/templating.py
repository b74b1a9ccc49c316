"""Placeholders ``{model}``, ``{version}``, ``{alertname}`` in JSON templates."""

from __future__ import annotations

from typing import Any

from exporter.responder.backend_protocol import ActionRequest

PLACEHOLDERS = ("model", "version", "alertname")


def fill_text(text: str, request: ActionRequest) -> str:
    # Plain replacement, not str.format: other braces in the text stay as they are.
    for name in PLACEHOLDERS:
        text = text.replace("{" + name + "}", str(getattr(request, name)))
    return text


def fill(template: Any, request: ActionRequest) -> Any:
    """A copy of ``template`` with placeholders replaced in every string (keys too)."""
    if isinstance(template, str):
        return fill_text(template, request)
    if isinstance(template, dict):
        return {fill_text(str(k), request): fill(v, request) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, request) for v in template]
    return template
