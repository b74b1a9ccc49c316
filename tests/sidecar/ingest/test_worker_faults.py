"""The ingest worker under faults: a batch that raises, a decoder child that dies."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest

from exporter.config.model import Config
from exporter.sidecar.ingest.decode import BatchDecoder, DecodedBatch
from exporter.sidecar.ingest.queue import IngestQueue, Item
from exporter.sidecar.ingest.worker import IngestWorker
from exporter.sidecar.runtime import Sidecar
from exporter.sidecar.state import SidecarState
from tests.factories import config, fraud_events, fraud_model, price_model
from tests.sidecar.threaded import ndjson, running, send_unix

BOOM = b"boom"


class _FaultyDecoder(BatchDecoder):
    """Raises on any batch holding the line ``boom``: stands in for a decoder bug."""

    def decode(self, lines: Sequence[bytes]) -> DecodedBatch:
        if BOOM in lines:
            raise RuntimeError("injected decoder bug")
        return super().decode(lines)


def _lines(n: int, seed: int, start: int = 0) -> list[bytes]:
    return [json.dumps(e).encode() for e in fraud_events(n, seed=seed, start=start)]


def test_a_batch_that_raises_is_counted_as_internal_error_and_answered(
        caplog: pytest.LogCaptureFixture) -> None:
    cfg: Config = config(fraud_model(max_pending=10_000), decode_processes=0)
    store = SidecarState(cfg, {})
    queue = IngestQueue(100_000)
    worker = IngestWorker(store, _FaultyDecoder(cfg), queue, clock=lambda: 1000.0)
    replies: list[Future[Counter[str]]] = []
    sent = 0
    with caplog.at_level(logging.WARNING, logger="mlmon.ingest"):
        worker.start()
        for i in range(30):
            lines = _lines(20, seed=i, start=20 * i)
            if i % 3 == 0:
                lines[5] = BOOM
            reply: Future[Counter[str]] = Future()
            replies.append(reply)
            queue.put(Item(lines, reply))
            sent += len(lines)
        answers = [r.result(10) for r in replies]
        queue.close()
        worker.join(10)
    assert not worker.is_alive()
    for i, answer in enumerate(answers):
        want = Counter({"accepted": 0, "internal_error": 20}) if i % 3 == 0 \
            else Counter({"accepted": 20})
        assert answer == want
    assert store.rejected["internal_error"] == 10 * 20
    assert store.models[("fraud", "1")].predictions_total == 20 * 20
    assert worker.processed == sent  # received = accepted + rejected
    failures = [r for r in caplog.records if "internal_error" in r.getMessage()]
    assert 1 <= len(failures) <= 6  # rate-limited: burst of 5, plus a suppressed-count line


def _state(pid: int) -> str | None:
    """The State line of /proc/<pid>/status, None when the process is gone (reaped)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    return next(line.split()[1] for line in text.splitlines() if line.startswith("State:"))


def test_a_killed_decoder_is_reaped_and_restarted(tmp_path: Path) -> None:
    cfg = config(fraud_model(max_pending=100_000), tmp=tmp_path, decode_processes=1)
    sidecar = Sidecar(cfg, {})
    sock = cfg.server.socket
    assert sock is not None
    with running(sidecar) as r:
        worker = r.sidecar.worker
        assert worker is not None
        send_unix(sock, ndjson(fraud_events(3000, seed=1)))
        r.settle(3000)
        old = worker.decoders[0].pid
        os.kill(old, signal.SIGKILL)
        total = 3000
        for seed in range(2, 5):  # mid-stream: batches in flight meet the dead child
            send_unix(sock, ndjson(fraud_events(2000, seed=seed, start=2000 * seed)))
            total += 2000
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (worker.decoders[0].pid == old
                                                or not worker.decoders_ok):
            time.sleep(0.02)
        new = worker.decoders[0].pid
        assert new != old and worker.decoders_ok
        assert _state(old) is None  # reaped: no zombie left
        with pytest.raises(ChildProcessError):
            os.waitpid(old, os.WNOHANG)
        assert _state(new) in {"S", "R"}
        before = worker.child_batches
        send_unix(sock, ndjson(fraud_events(2000, seed=9, start=20_000)))
        total += 2000
        r.settle(total)
        assert worker.child_batches > before  # the new child decodes
        assert worker.decoder_restarts == 1
        with urllib.request.urlopen(f"{r.http}/metrics", timeout=10) as resp:
            scraped = resp.read().decode()
        assert "mlmon_decoder_restarts_total 1.0" in scraped.splitlines()
        state = sidecar.store.models[("fraud", "1")]
        assert state.predictions_total == total  # nothing lost
        assert sum(sidecar.store.rejected.values()) == 0
        assert len(state.join) == total


def test_rejection_log_names_model_feature_and_reason(caplog: pytest.LogCaptureFixture) -> None:
    cfg = config(fraud_model(), price_model(), decode_processes=0)
    store = SidecarState(cfg, {})
    queue = IngestQueue(1000)
    worker = IngestWorker(store, BatchDecoder(cfg), queue, clock=lambda: 1000.0)
    bad_category = json.dumps({**fraud_events(1)[0], "features": {"country": ["DE"]}})
    unknown = json.dumps({"v": 1, "model": "nosuch", "prediction": 1.0})
    infinite = json.dumps({"v": 1, "model": "price", "prediction": "Infinity"})
    with caplog.at_level(logging.WARNING, logger="mlmon.ingest"):
        worker.start()
        for line in (bad_category, unknown, infinite):
            reply: Future[Counter[str]] = Future()
            queue.put(Item([line.encode()], reply))
            reply.result(10)
        queue.close()
        worker.join(10)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert "bad_type" in messages[0] and "'fraud'" in messages[0] and "country" in messages[0]
    assert "unknown_model" in messages[1] and "'nosuch'" in messages[1]
    assert "bad_value" in messages[2] and "'price'" in messages[2] \
        and "__prediction__" in messages[2]
