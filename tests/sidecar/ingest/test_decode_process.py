"""Decoder child processes: same result as in-process decoding, order, failure handling."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from exporter.config.model import Config
from exporter.sidecar.ingest.decode import BatchDecoder, DecodedBatch
from exporter.sidecar.ingest.decode_process import DecoderGone, DecoderProcess
from exporter.sidecar.runtime import Sidecar
from tests.factories import config, fraud_events, fraud_model, price_model
from tests.sidecar.threaded import ndjson, running, send_unix


def _cfg() -> Config:
    return config(fraud_model("1"), fraud_model("2"), price_model())


@pytest.fixture
def child() -> Iterator[DecoderProcess]:
    d = DecoderProcess(_cfg())
    try:
        yield d
    finally:
        d.close()


def _lines(n: int, seed: int) -> list[bytes]:
    lines = [json.dumps(e).encode() for e in fraud_events(n, seed=seed)]
    lines[3:3] = [b"{oops", json.dumps({"v": 1, "model": "price", "id": "p",
                                        "features": {"rooms": 4}, "prediction": 3.5}).encode(),
                  json.dumps({"v": 1, "model": "nope", "prediction": 1}).encode(),
                  json.dumps({"v": 1, "model": "fraud", "version": "2", "id": "r1",
                              "label": 1}).encode()]
    return lines


def _same(a: DecodedBatch, b: DecodedBatch) -> None:
    assert a.rejected == b.rejected
    assert a.models.keys() == b.models.keys()
    for key, x in a.models.items():
        y = b.models[key]
        assert (x.ids, x.predictions, x.labels, x.ts) == (y.ids, y.predictions, y.labels, y.ts)
        assert x.is_prediction is not None and y.is_prediction is not None
        assert x.is_prediction.tolist() == y.is_prediction.tolist()
        np.testing.assert_array_equal(x.numeric, y.numeric)
        assert [c.tolist() for c in x.categorical] == [c.tolist() for c in y.categorical]


def test_child_decodes_exactly_like_the_sidecar_in_order(child: DecoderProcess) -> None:
    batches = [_lines(50 + 10 * i, seed=i) for i in range(5)]
    for lines in batches:  # all sent before any reply is read: replies queue in order
        child.send(lines)
    local = BatchDecoder(_cfg())
    for lines in batches:
        got = DecoderProcess.result(child.receive())
        want = local.decode(lines)
        _same(got, want)
        assert got.rejected == {"malformed_json": 1, "unknown_model": 1}
        assert len(got.models[("fraud", "1")]) == len(lines) - 4


def test_empty_batch_is_empty_not_a_blank_line(child: DecoderProcess) -> None:
    child.send([])
    out = DecoderProcess.result(child.receive())
    assert out.models == {} and not out.rejected


def test_child_ignores_sigterm_and_sigint_and_exits_when_its_input_closes() -> None:
    d = DecoderProcess(_cfg())
    d.send(_lines(5, seed=1))  # the child is up and decoding once it answers
    assert len(DecoderProcess.result(d.receive()).models[("fraud", "1")]) == 5
    os.kill(d.pid, signal.SIGTERM)
    os.kill(d.pid, signal.SIGINT)
    d.send(_lines(7, seed=2))
    assert len(DecoderProcess.result(d.receive()).models[("fraud", "1")]) == 7
    d.close()
    assert d._proc.returncode == 0  # ended by the closed pipe, not killed


def test_a_killed_child_is_reported_as_gone(child: DecoderProcess) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child._proc.wait(10)
    with pytest.raises(DecoderGone, match="exited"):
        child.receive()
    with pytest.raises(DecoderGone):
        for _ in range(100):  # a write may fit the pipe before the broken end is noticed
            child.send(_lines(100, seed=3))


def test_sidecar_loses_nothing_when_its_decoder_dies(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    cfg = config(fraud_model(max_pending=100_000), tmp=tmp_path, decode_processes=1)
    sidecar = Sidecar(cfg, {})
    sock = cfg.server.socket
    assert sock is not None
    with caplog.at_level(logging.ERROR, logger="mlmon.ingest"), running(sidecar) as r:
        assert r.sidecar.worker is not None
        send_unix(sock, ndjson(fraud_events(3000, seed=1)))
        r.settle(3000)
        os.kill(r.sidecar.worker.decoders[0].pid, signal.SIGKILL)
        time.sleep(0.2)
        for seed in range(2, 6):
            send_unix(sock, ndjson(fraud_events(3000, seed=seed, start=3000 * seed)))
        r.settle(15_000)
        state = sidecar.store.models[("fraud", "1")]
        assert state.predictions_total == 15_000
        assert len(state.join) == 15_000  # every id reached the join table
        assert sidecar.store.rejected["queue_full"] == 0
    gone = [rec for rec in caplog.records if "decoding in the sidecar process" in rec.message]
    assert len(gone) == 1  # reported once per death, not per batch


def test_a_failed_start_leaves_no_worker_or_decoder_behind(tmp_path: Path) -> None:
    import asyncio
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = config(fraud_model(), tmp=tmp_path, http=f"127.0.0.1:{port}")
        sidecar = Sidecar(cfg, {})
        with pytest.raises(OSError):
            asyncio.run(sidecar.start())
    assert sidecar.worker is not None and not sidecar.worker.is_alive()
    for d in sidecar.worker.decoders:
        assert d._proc.poll() == 0  # ended by its closed input
