from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.history.dataset import Fraud, fraud
from tests.history.promfake import FakePrometheus, serving


@pytest.fixture(scope="module")
def data() -> Fraud:
    return fraud()


@pytest.fixture
def prom(data: Fraud) -> Iterator[FakePrometheus]:
    """The fraud data set served on a free loopback port, stopped after the test."""
    with serving(FakePrometheus(list(data.series))) as fake:
        yield fake
