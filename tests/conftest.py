from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.procs import closed_port


@pytest.fixture
def port() -> Iterator[int]:
    """A 127.0.0.1 port where connections are refused (bound, not listening) for the test."""
    with closed_port() as number:
        yield number
