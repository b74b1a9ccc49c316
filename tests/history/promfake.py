"""A tiny stand-in for Prometheus's HTTP API, served for real on 127.0.0.1.

It stores the series a test generates and evaluates just the PromQL shapes
``mlmon history`` sends:

* ``AGG by (labels) (selector)`` for range queries (AGG: max, min, avg, sum),
* ``AGG by (labels) (last_over_time(selector[Ns]))`` and ``... increase(...)``
  for instant queries,
* ``/api/v1/label/<name>/values?match[]=...&start=&end=``.

A sample is visible at evaluation time τ when it lies in (τ − 300 s, τ], like
Prometheus's default lookback; range windows are ``[τ − N, τ]`` and
``increase`` is last − first inside the window (no extrapolation). Queries it
cannot parse get Prometheus's ``400 bad_data`` answer, as do range queries
above Prometheus's limit of 11,000 points per series. ``canned`` answers chosen
expressions (or every request to a path) with a fixed status and body, after an
optional delay, to test the client's error handling.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from numpy.typing import NDArray

LOOKBACK = 300.0
MAX_POINTS = 11_000

Labels = dict[str, str]


@dataclass(frozen=True)
class Stored:
    """One stored time series: metric name, labels and samples."""

    name: str
    labels: Labels
    t: NDArray[np.float64]
    y: NDArray[np.float64]


@dataclass(frozen=True)
class Canned:
    status: int
    body: bytes
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass(frozen=True)
class Request:
    path: str
    params: dict[str, list[str]]

    def one(self, key: str) -> str:
        return self.params[key][0]


class BadData(ValueError):
    pass


_AGG = re.compile(r"^(max|min|avg|sum) by \(([\w, ]*)\) \((.*)\)$")
_FN = re.compile(r"^(last_over_time|increase)\((.*)\[(\d+)s\]\)$")
_SEL = re.compile(r"^([A-Za-z_:][\w:]*)?\{(.*)\}$")
_MATCHER = re.compile(r'\s*([A-Za-z_]\w*)\s*(=~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def parse_selector(text: str) -> list[tuple[str, str, str]]:
    """``name{a="b",c=~"d"}`` -> [("__name__", "=", name), ("a", "=", "b"), ...]."""
    m = _SEL.match(text)
    if m is None:
        raise BadData(f"parse error: unexpected selector {text!r}")
    out: list[tuple[str, str, str]] = []
    if m.group(1):
        out.append(("__name__", "=", m.group(1)))
    body, pos = m.group(2), 0
    while pos < len(body):
        mm = _MATCHER.match(body, pos)
        if mm is None:
            raise BadData(f"parse error: unexpected character in label matchers {body[pos:]!r}")
        out.append((mm.group(1), mm.group(2), _unescape(mm.group(3))))
        pos = mm.end()
    return out


def _matches(s: Stored, matchers: Sequence[tuple[str, str, str]]) -> bool:
    labels = {"__name__": s.name, **s.labels}
    for key, op, value in matchers:
        have = labels.get(key, "")
        if op == "=" and have != value:
            return False
        if op == "!=" and have == value:
            return False
        if op == "=~" and re.fullmatch(value, have) is None:
            return False
    return True


_AGGREGATE: dict[str, Callable[[list[float]], float]] = {
    "max": max, "min": min, "sum": math.fsum, "avg": lambda v: math.fsum(v) / len(v),
}


def _fmt(v: float) -> str:
    return "NaN" if math.isnan(v) else repr(float(v))


@dataclass
class FakePrometheus:
    series: list[Stored]
    canned: dict[str, Canned] = field(default_factory=dict)  # expr or path -> answer
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    # --- evaluation ---------------------------------------------------------

    def _parse(self, expr: str) -> tuple[str, list[str], str | None, float, list[Stored]]:
        m = _AGG.match(expr)
        if m is None:
            raise BadData(f"parse error: unsupported expression {expr!r}")
        agg, by = m.group(1), [b.strip() for b in m.group(2).split(",") if b.strip()]
        inner, fn, window = m.group(3), None, 0.0
        fm = _FN.match(inner)
        if fm is not None:
            fn, inner, window = fm.group(1), fm.group(2), float(fm.group(3))
        matchers = parse_selector(inner)
        return agg, by, fn, window, [s for s in self.series if _matches(s, matchers)]

    def _groups(self, by: list[str], chosen: list[Stored]) -> dict[tuple[str, ...], list[Stored]]:
        groups: dict[tuple[str, ...], list[Stored]] = {}
        for s in chosen:
            groups.setdefault(tuple(s.labels.get(b, "") for b in by), []).append(s)
        return groups

    @staticmethod
    def _at(s: Stored, when: float) -> float | None:
        i = int(np.searchsorted(s.t, when, side="right")) - 1
        if i < 0 or s.t[i] <= when - LOOKBACK:
            return None
        return float(s.y[i])

    @staticmethod
    def _window(s: Stored, fn: str, when: float, window: float) -> float | None:
        keep = (s.t >= when - window) & (s.t <= when)
        if not keep.any():
            return None
        y = s.y[keep]
        return float(y[-1]) if fn == "last_over_time" else float(y[-1] - y[0])

    @staticmethod
    def _metric(by: list[str], key: tuple[str, ...]) -> Labels:
        return {b: v for b, v in zip(by, key, strict=True) if v != ""}

    def query_range(self, expr: str, start: float, end: float, step: float) -> dict[str, Any]:
        if step <= 0:
            raise BadData("zero or negative query resolution step widths are not accepted. "
                          "Try a positive integer")
        if (end - start) / step > MAX_POINTS:
            raise BadData("exceeded maximum resolution of 11,000 points per timeseries. "
                          "Try decreasing the query resolution (?step=XX)")
        agg, by, fn, _, chosen = self._parse(expr)
        if fn is not None:
            raise BadData(f"parse error: unsupported range expression {expr!r}")
        times = [start + k * step for k in range(math.floor((end - start) / step) + 1)]
        result = []
        for key, members in sorted(self._groups(by, chosen).items()):
            values = []
            for when in times:
                seen = [v for v in (self._at(s, when) for s in members) if v is not None]
                if seen:
                    values.append([when, _fmt(_AGGREGATE[agg](seen))])
            if values:
                result.append({"metric": self._metric(by, key), "values": values})
        return {"resultType": "matrix", "result": result}

    def query(self, expr: str, when: float) -> dict[str, Any]:
        agg, by, fn, window, chosen = self._parse(expr)
        result = []
        for key, members in sorted(self._groups(by, chosen).items()):
            seen = []
            for s in members:
                v = (self._window(s, fn, when, window) if fn is not None
                     else self._at(s, when))
                if v is not None:
                    seen.append(v)
            if seen:
                result.append({"metric": self._metric(by, key),
                               "value": [when, _fmt(_AGGREGATE[agg](seen))]})
        return {"resultType": "vector", "result": result}

    def label_values(self, label: str, match: str, start: float | None,
                     end: float | None) -> list[str]:
        matchers = parse_selector(match)
        found = set()
        for s in self.series:
            if not _matches(s, matchers) or label not in s.labels:
                continue
            if start is not None and end is not None and not (
                    ((s.t >= start) & (s.t <= end)).any()):
                continue
            found.add(s.labels[label])
        return sorted(found)

    def answer(self, path: str, params: dict[str, list[str]]) -> tuple[int, Any]:
        def one(key: str) -> str:
            return params[key][0]

        if path == "/api/v1/query_range":
            return 200, self.query_range(one("query"), float(one("start")), float(one("end")),
                                         float(one("step")))
        if path == "/api/v1/query":
            when = float(one("time")) if "time" in params else time.time()
            return 200, self.query(one("query"), when)
        m = re.fullmatch(r"/api/v1/label/([^/]+)/values", path)
        if m is not None:
            start = float(one("start")) if "start" in params else None
            end = float(one("end")) if "end" in params else None
            return 200, self.label_values(urllib.parse.unquote(m.group(1)), one("match[]"),
                                          start, end)
        return 404, None


def _handler(fake: FakePrometheus) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            fake.requests.append(Request(url.path, params))
            canned = fake.canned.get(url.path) or fake.canned.get(params.get("query", [""])[0])
            if canned is not None:
                time.sleep(canned.delay)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(canned.status, canned.body, canned.content_type)  # or timed out
                return
            try:
                status, data = fake.answer(url.path, params)
            except (BadData, KeyError, ValueError) as exc:
                doc = {"status": "error", "errorType": "bad_data", "error": str(exc)}
                self._send(400, json.dumps(doc).encode(), "application/json")
                return
            if status == 404:
                self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")
                return
            body = json.dumps({"status": "success", "data": data}).encode()
            self._send(200, body, "application/json")

    return Handler


@contextmanager
def serving(fake: FakePrometheus) -> Iterator[FakePrometheus]:
    """Serve ``fake`` on 127.0.0.1 on a free port (bound to port 0); always stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = False  # server_close() joins the request threads
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def error_body(error_type: str, error: str) -> bytes:
    return json.dumps({"status": "error", "errorType": error_type, "error": error}).encode()
