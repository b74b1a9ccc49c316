from __future__ import annotations

from pathlib import Path

from bench.tap_cost import example_features, measure_call_cost
from tests.client.protocol import parse_line
from tests.client.servers import LineServer


def test_measures_every_call_and_delivers_them(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    with LineServer(path) as server:
        cost = measure_call_cost(path, calls=3_000, warmup=100)
        lines = server.wait_lines(3_100)
    assert cost.calls == 3_000 and cost.sent == 3_100 and cost.dropped == 0
    assert 0 < cost.median_ns <= cost.p90_ns <= cost.p99_ns
    last = parse_line(lines[-1])
    assert last["id"] == "r2999" and last["features"] == example_features()
    assert sum(isinstance(v, str) for v in last["features"].values()) == 2
    assert len(last["features"]) == 22
