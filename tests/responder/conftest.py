"""Fixtures of the responder tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exporter.demo.receivers import HttpReceiver


@pytest.fixture
def sink() -> Iterator[HttpReceiver]:
    """The demo's threaded loopback HTTP receiver, recording POSTs (for subprocess tests)."""
    with HttpReceiver("sink") as receiver:
        yield receiver
