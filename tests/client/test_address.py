from __future__ import annotations

import pytest

from exporter.client.address import Address, parse_address


@pytest.mark.parametrize(("text", "expected"), [
    ("/var/run/mlmon/mlmon.sock", Address(path="/var/run/mlmon/mlmon.sock")),
    ("unix:///tmp/x.sock", Address(path="/tmp/x.sock")),
    ("relative.sock", Address(path="relative.sock")),
    ("tcp://127.0.0.1:9848", Address(host="127.0.0.1", port=9848)),
    ("tcp://[::1]:9848", Address(host="::1", port=9848)),
])
def test_parse(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


def test_round_trip_to_text() -> None:
    for text in ("/tmp/a.sock", "tcp://127.0.0.1:1", "tcp://[::1]:65535"):
        assert str(parse_address(text)) == text


@pytest.mark.parametrize("text", ["", "tcp://127.0.0.1", "tcp://:80", "tcp://h:0",
                                  "tcp://h:99999", "http://127.0.0.1:80", "tcp://h:port"])
def test_bad_addresses_name_the_problem(text: str) -> None:
    with pytest.raises(ValueError, match="address"):
        parse_address(text)
