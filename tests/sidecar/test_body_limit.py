"""server.max_body_bytes on POST /v1/events for a chunked body (no Content-Length), so the
limit can only be enforced while the body streams in, on a running sidecar."""

from __future__ import annotations

import http.client
import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.sidecar.runtime import Sidecar
from tests.factories import config, fraud_model, fraud_profile
from tests.sidecar.threaded import running

LINE = b'{"v":1,"model":"fraud","version":"1","prediction":0.5}\n'
LINES = 20
LIMIT = len(LINE) * LINES  # a body of exactly LINES lines fits


def _post_chunked(url: str, chunks: list[bytes]) -> tuple[int, dict[str, Any]]:
    """POST the chunks with Transfer-Encoding: chunked and no Content-Length."""
    where = urllib.parse.urlsplit(url)
    assert where.hostname is not None
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        conn.putrequest("POST", "/v1/events", skip_accept_encoding=True)
        conn.putheader("Content-Type", "application/x-ndjson")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for chunk in chunks:
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def _received_and_rejected(url: str) -> tuple[float, float]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    samples = [s for fam in parse_text(text) for s in fam.samples]
    received = next(s.value for s in samples if s.name == "mlmon_events_received_total"
                    and s.labels == {"transport": "http"})
    rejected = sum(s.value for s in samples if s.name == "mlmon_events_rejected_total")
    return received, rejected


def test_a_chunked_body_over_the_limit_gets_413_and_nothing_is_taken(tmp_path: Path) -> None:
    m = fraud_model()
    cfg = config(m, tmp=tmp_path, decode_processes=0, max_body_bytes=LIMIT)
    with running(Sidecar(cfg, {m.key: fraud_profile(m)})) as r:
        # one byte over, in small chunks: no single chunk is over the limit
        over = [LINE] * (LINES - 1) + [LINE.replace(b'"v":1', b'"v": 1')]
        assert sum(map(len, over)) == LIMIT + 1
        status, body = _post_chunked(r.http, over)
        assert status == 413
        assert f"larger than server.max_body_bytes ({LIMIT} bytes)" in body["error"]
        assert _received_and_rejected(r.http) == (0.0, 0.0)  # no line of it was counted
        # the same body a byte shorter is taken whole: the limit is inclusive
        status, body = _post_chunked(r.http, [LINE] * LINES)
        assert (status, body) == (202, {"accepted": LINES, "rejected": {}})
        # far over, in one chunk: refused the same way, and the sidecar serves on
        status, body = _post_chunked(r.http, [LINE * (3 * LINES)])
        assert status == 413 and "max_body_bytes" in body["error"]
        status, body = _post_chunked(r.http, [LINE, LINE])
        assert (status, body) == (202, {"accepted": 2, "rejected": {}})
        assert _received_and_rejected(r.http) == (LINES + 2.0, 0.0)
