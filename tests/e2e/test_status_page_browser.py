"""The status page of a real `mlmon serve` fed drifted traffic, rendered by headless Chromium."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import sys
import time
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.chromium import chromium, tab
from tests.e2e.loop_support import FRAUD, Rows
from tests.paths import ROOT
from tests.procs import post_events, require_binary, serving

ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOT = ARTIFACTS / "status_page.png"
WIDTH, HEIGHT = 1280, 1000

ROWS_JS = """JSON.stringify({
  title: document.title,
  links: [...document.querySelectorAll('a')].map(a => a.getAttribute('href')),
  models: [...document.querySelectorAll('section.model')].map(s => s.dataset.model),
  body: getComputedStyle(document.body).backgroundColor,
  rows: [...document.querySelectorAll('tr.feature')].map(r => ({
    name: r.dataset.feature, cls: r.className, bg: getComputedStyle(r).backgroundColor,
    psi: r.querySelector('.psi').textContent, shown: r.getBoundingClientRect().height > 0}))
})"""


def _status(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/v1/status", timeout=10) as resp:
        doc: dict[str, Any] = json.loads(resp.read())
        return doc


def _feed_current(base: str, model: str, version: str, features: list[str]) -> int:
    """Every row of current.csv as a prediction, then its label; returns the row count."""
    rows = Rows(FRAUD / "current.csv", features).rows
    preds = [json.dumps({"v": 1, "model": model, "version": version, "id": f"c{i}",
                         "features": f, "prediction": score})
             for i, (f, score, _) in enumerate(rows)]
    labels = [json.dumps({"v": 1, "model": model, "version": version, "id": f"c{i}",
                          "label": label}) for i, (_, _, label) in enumerate(rows)]
    for lines in (preds, labels):
        for start in range(0, len(lines), 1000):
            code, answer = post_events(f"{base}/v1/events", lines[start:start + 1000])
            assert code == 202 and answer["rejected"] == {}, answer
    return len(rows)


def _wait_computed(base: str, rows: int, after: float, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        doc = _status(base)
        m = doc["models"][0]
        if m["last_compute"] is not None and m["last_compute"] > after and \
                m["window_samples"] == rows and m["performance"].get("samples") == rows:
            return doc
        if time.monotonic() > deadline:
            raise AssertionError(f"no compute over all {rows} rows: {m}")
        time.sleep(0.2)


def _png_size_and_variety(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct byte values in the inflated image data)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


async def _browse(devtools: str, url: str) -> tuple[dict[str, Any], list[str], bytes, list[str]]:
    async with tab(devtools) as t:
        await t.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                     deviceScaleFactor=1, mobile=False)
        mark = len(t.events)
        await t.call("Page.navigate", url=url)
        await t.wait_for("Page.loadEventFired", after=mark)
        rendered = json.loads(await t.evaluate(ROWS_JS))
        shot = await t.call("Page.captureScreenshot", format="png")
        errors = t.console_errors()
        # The collector itself must see an error when there is one.
        await t.evaluate("console.error('probe-error')")
        await asyncio.sleep(0.2)
        probe = t.console_errors()
    return rendered, errors, base64.b64decode(shot["data"]), probe


def _rgb(css: str) -> tuple[int, ...]:
    return tuple(int(x) for x in css[css.index("(") + 1:css.index(")")].split(",")[:3])


def test_status_page_in_headless_chromium(tmp_path: Path) -> None:
    require_binary("chromium")
    config = FRAUD / "mlmon.yaml"
    (model,) = yaml.safe_load(config.read_text(encoding="utf-8"))["models"]
    env = {**os.environ, "MLMON_COMPUTE_INTERVAL": "1s"}
    argv = [sys.executable, "-m", "exporter", "serve", "--config", str(config),
            "--socket", str(tmp_path / "mlmon.sock"), "--http", "127.0.0.1:0"]
    with serving(argv, tmp_path / "serve.log", "/readyz", env=env) as sidecar:
        base = sidecar.url
        started = time.time()
        rows = _feed_current(base, model["name"], str(model["version"]), list(model["features"]))
        doc = _wait_computed(base, rows, started)
        with chromium(tmp_path, WIDTH, HEIGHT) as devtools:
            rendered, errors, png, probe = asyncio.run(_browse(devtools, f"{base}/"))

    ARTIFACTS.mkdir(exist_ok=True)
    SCREENSHOT.write_bytes(png)

    assert errors == [], errors
    assert any("probe-error" in p for p in probe), probe

    m = doc["models"][0]
    severity = {f["name"]: f["severity"] for f in m["features"]}
    assert severity["amount"] == severity["country"] == "high"  # current.csv drifts these two
    assert rendered["title"] == "mlmon status"
    assert rendered["models"] == [model["name"]]
    assert set(rendered["links"]) == {"/metrics", "/v1/status"}
    by_name = {r["name"]: r for r in rendered["rows"]}
    assert list(by_name) == [f["name"] for f in m["features"]]
    for f in m["features"]:
        r = by_name[f["name"]]
        assert r["shown"]
        assert f"sev-{f['severity']}" in r["cls"].split()
        assert abs(float(r["psi"]) - f["psi"]) <= 5e-5
    # Colours as the browser computed them: high rows reddish, unlike low rows and the page.
    high = {_rgb(r["bg"]) for r in rendered["rows"] if "sev-high" in r["cls"].split()}
    low = {_rgb(r["bg"]) for r in rendered["rows"] if "sev-low" in r["cls"].split()}
    assert len(high) == 1 and not high & low and _rgb(rendered["body"]) not in high
    (red, green, blue), = high
    assert red > green and red > blue

    width, height, variety = _png_size_and_variety(png)
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(png) > 20_000 and variety > 50, (len(png), variety)  # text and colours, not blank
