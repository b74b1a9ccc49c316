"""A connection reset in the middle of a line: the half line is counted as received and
rejected (``truncated``), the whole lines before it are accepted."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from exporter.config.model import FeatureConfig, ModelConfig, PredictionConfig
from exporter.sidecar.runtime import Sidecar
from tests.client.servers import wait_until
from tests.factories import config
from tests.sidecar.threaded import running

M = ModelConfig(name="m", version="1", prediction=PredictionConfig("regression"),
                features=(FeatureConfig("a", "numeric"),))
LINE = b'{"v":1,"model":"m","features":{"a":1.5},"prediction":2.0}\n'


def _reset_after(path: Path, data: bytes) -> None:
    """Send ``data`` and close with an RST (SO_LINGER 0), as a crashed peer does."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(path))
    s.sendall(data)
    s.close()


def _reset_tcp_after(address: tuple[str, int], data: bytes) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.connect(address)
    s.sendall(data)
    s.close()


def test_a_half_line_at_reset_is_counted_truncated(tmp_path: Path) -> None:
    with running(Sidecar(config(M, tmp=tmp_path, tcp="127.0.0.1:0"), {})) as r:
        host, port = r.sidecar.addresses["tcp"].rsplit(":", 1)
        _reset_tcp_after((host, int(port)), LINE * 3 + LINE[:20])
        store = r.sidecar.store
        wait_until(lambda: store.received["tcp"] >= 4, 10.0, "4 lines counted")
        r.settle(3)
        with store.lock:
            received = store.received["tcp"]
            rejected = {k: v for k, v in store.rejected.items() if v}
            accepted = store.models[("m", "1")].predictions_total
        assert (received, accepted, rejected) == (4, 3, {"truncated": 1})


def test_a_clean_close_after_a_half_line_keeps_it_as_the_last_line(tmp_path: Path) -> None:
    """EOF after a line without its newline: the line is whole and accepted."""
    with running(Sidecar(config(M, tmp=tmp_path), {})) as r:
        _reset_after(tmp_path / "mlmon.sock", LINE * 2 + LINE[:-1])
        store = r.sidecar.store
        wait_until(lambda: store.received["unix"] >= 3, 10.0, "3 lines counted")
        r.settle(3)
        with store.lock:
            assert (store.received["unix"], store.models[("m", "1")].predictions_total,
                    sum(store.rejected.values())) == (3, 3, 0)
