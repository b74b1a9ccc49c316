"""Pieces of the loop test: the sidecar config, tap traffic from the fraud example, and an
aiohttp app (the fake Kubernetes API) served from a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import yaml
from aiohttp import web

from tests.e2e.grafana_traffic import csv_cell
from tests.paths import EXAMPLES
from tests.procs import post_events
from tests.responder.service import serve

FRAUD = EXAMPLES / "fraud"
MODEL, VERSION = "fraud", "3"
WINDOW = 600  # events in the drift window and joined pairs in the accuracy window
MIN_SAMPLES = 200
ACCURACY_FLOOR = 0.85  # reference.csv scores 0.962 at a 0.5 threshold, current.csv 0.705


def sidecar_config(path: Path) -> Path:
    """The fraud example with windows small enough to turn over in seconds."""
    document = yaml.safe_load((FRAUD / "mlmon.yaml").read_text(encoding="utf-8"))
    (model,) = document["models"]
    model["profile"] = str((FRAUD / model["profile"]).resolve())
    model["window"] = {"size": WINDOW}
    model["thresholds"].update(min_samples=MIN_SAMPLES, accuracy_floor=ACCURACY_FLOOR)
    model["labels"] = {"ttl": "1h", "max_pending": 100_000, "window": WINDOW}
    document["compute_interval"] = "1s"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


class Rows:
    """Rows of one example CSV as (features, prediction score, label)."""

    def __init__(self, path: Path, features: list[str]) -> None:
        with path.open(newline="", encoding="utf-8") as handle:
            self.rows = [({f: v for f in features if (v := csv_cell(row[f])) is not None},
                          float(row["prediction"]), row["label"])
                         for row in csv.DictReader(handle)]


class Traffic:
    """Posts predictions (and, one tick later, their labels) to the sidecar at ``rate``/s.

    ``drifted`` switches the rows from reference.csv to current.csv; ``drift_started``
    is the wall time the first drifted prediction was sent.
    """

    def __init__(self, sidecar: str, rate: float = 100.0, tick: float = 0.1,
                 seed: int = 7) -> None:
        features = list(yaml.safe_load((FRAUD / "mlmon.yaml").read_text())["models"][0]
                        ["features"])
        self.reference = Rows(FRAUD / "reference.csv", features)
        self.current = Rows(FRAUD / "current.csv", features)
        self.url = f"{sidecar}/v1/events"
        self.per_tick = max(1, round(rate * tick))
        self.tick = tick
        self.drifted = False
        self.drift_started: float | None = None
        self.sent = 0
        self.errors: list[str] = []
        self._rng = np.random.default_rng(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        pending: list[str] = []
        next_tick = time.monotonic()
        while not self._stop.is_set():
            drifted = self.drifted
            source = self.current if drifted else self.reference
            if drifted and self.drift_started is None:
                self.drift_started = time.time()
            lines, labels = [], []
            for row in self._rng.integers(0, len(source.rows), self.per_tick):
                features, score, label = source.rows[row]
                ident = f"req-{self.sent}"
                self.sent += 1
                lines.append(json.dumps({"v": 1, "model": MODEL, "version": VERSION,
                                         "id": ident, "features": features,
                                         "prediction": score}))
                labels.append(json.dumps({"v": 1, "model": MODEL, "id": ident,
                                          "label": label}))
            self._post(lines + pending)
            pending = labels  # ground truth arrives a tick after its prediction
            next_tick += self.tick
            self._stop.wait(max(0.0, next_tick - time.monotonic()))

    def _post(self, lines: list[str]) -> None:
        try:
            code, answer = post_events(self.url, lines, timeout=10)
            if code != 202 or answer.get("rejected"):
                self.errors.append(f"HTTP {code}: {answer}")
        except OSError as exc:
            self.errors.append(str(exc))


@contextlib.contextmanager
def serve_in_thread(app: web.Application) -> Iterator[str]:
    """tests.responder.service.serve on an event loop in its own thread; yield the URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="aiohttp", daemon=True)
    thread.start()
    server = serve(app)
    url = asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
    try:
        yield url
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
